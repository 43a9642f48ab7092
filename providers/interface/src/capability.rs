//! Declared capabilities: which unified fields each provider can express, and how. The gateway
//! checks a request against them before any provider call (DESIGN §1.2, §10).

use schemars::JsonSchema;
use serde::Serialize;

use crate::unified::{LineItem, LineItemForm, Patch, UnifiedUpdate};
use crate::{Adapter, FieldProblem, ProviderFactory};

/// Declares [`Feature`] and its `ALL` list from one table, so a feature cannot be added without
/// being listed (the capability matrix, the switch report and usage counts walk `ALL`).
macro_rules! features {
    ($($variant:ident => $field:literal,)+) => {
        /// One thing a unified request can ask for. The list follows DESIGN §10's mapping table.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum Feature {
            $($variant,)+
        }

        impl Feature {
            /// Every feature, in declaration order.
            pub const ALL: [Self; [$(stringify!($variant)),+].len()] = [$(Self::$variant),+];

            /// Where the feature lives in the unified request, for people reading the matrix.
            pub fn field(self) -> &'static str {
                match self {
                    $(Self::$variant => $field,)+
                }
            }
        }
    };
}

features! {
    MetadataSet => "metadata (set a key)",
    MetadataRemove => "metadata (remove a key / clear)",
    LineItemsAdHoc => "line_items[] ad-hoc item",
    LineItemsExisting => "line_items[] {id}",
    LineItemsCatalog => "line_items[] {price}",
    ItemSku => "line_items[].sku",
    ItemExternalId => "line_items[].external_id",
    ItemImageUrl => "line_items[].image_url",
    ItemDiscountAmount => "line_items[].discount_amount",
    ItemTaxAmount => "line_items[].tax_amount",
    ItemProductUrl => "line_items[].product_url",
    ItemCategories => "line_items[].categories",
    ItemProductType => "line_items[].product_type",
    ItemProviderOptions => "line_items[].provider_options.<kind>",
    Currency => "currency",
    ShippingRate => "shipping_rate",
    ShippingOptions => "shipping_options",
    ShippingDetails => "shipping_details",
    BillingDetails => "billing_details",
    RedirectSuccessUrl => "redirects.success_url",
    RedirectCancelUrl => "redirects.cancel_url",
    RedirectSuccessMessage => "redirects.success_message",
    PageTitle => "page.title",
    PageDescription => "page.description",
    PageImageUrl => "page.image_url",
    Description => "description",
    ExpiresIn => "expires_in",
}

/// How a provider supports a feature; the text says how, for the capability matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "support", content = "how", rename_all = "snake_case")]
pub enum Support {
    Native(&'static str),
    Emulated(&'static str),
    /// Carried in provider-side metadata.
    ProviderMetadata(&'static str),
    Unsupported,
}

/// What the update does to retries (DESIGN §1.5): retried only when safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IdempotencyMode {
    /// The adapter forwards the gateway's idempotency key; the provider deduplicates.
    ForwardsKey,
    /// The update is a pure overwrite; repeating it has no further effect.
    Overwrite,
    /// Neither: updates are never retried.
    Unsafe,
}

/// An adapter's declared capabilities. Features missing from `features` are unsupported.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    pub features: &'static [(Feature, Support)],
    pub idempotency: IdempotencyMode,
}

impl Capabilities {
    pub fn support(&self, feature: Feature) -> Support {
        self.features.iter().find(|(f, _)| *f == feature).map_or(Support::Unsupported, |(_, s)| *s)
    }
}

/// One use of a feature by a request, at a JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureUse {
    pub feature: Feature,
    pub pointer: String,
}

/// Every feature the update uses, each with the pointer to blame if unsupported.
pub fn features_used(update: &UnifiedUpdate) -> Vec<FeatureUse> {
    let mut uses = Vec::new();
    visit_features(update, |feature, at| uses.push(FeatureUse { feature, pointer: at.pointer() }));
    uses
}

/// Every feature the update uses, once per use as [`features_used`] lists them, without their
/// pointers (usage counts need only the features).
pub fn features_in(update: &UnifiedUpdate) -> Vec<Feature> {
    let mut features = Vec::new();
    visit_features(update, |feature, _| features.push(feature));
    features
}

/// Where a feature is used: cheap to note for every use, written out as a JSON pointer only
/// for the uses a check reports (most requests report none).
#[derive(Debug, Clone, Copy)]
enum At<'a> {
    Field(&'static str),
    MetadataKey(&'a str),
    Item(usize),
    ItemField(usize, &'static str),
}

impl At<'_> {
    fn pointer(self) -> String {
        match self {
            Self::Field(pointer) => pointer.to_owned(),
            Self::MetadataKey(key) => format!("/metadata/{}", escape_pointer(key)),
            Self::Item(index) => format!("/line_items/{index}"),
            Self::ItemField(index, field) => format!("/line_items/{index}/{field}"),
        }
    }
}

/// Call `visit` for every feature the update uses, in a fixed order.
fn visit_features<'a>(update: &'a UnifiedUpdate, mut visit: impl FnMut(Feature, At<'a>)) {
    match &update.metadata {
        Patch::Absent => {}
        Patch::Clear => visit(Feature::MetadataRemove, At::Field("/metadata")),
        Patch::Set(map) => {
            for (key, value) in map {
                let feature = if value.is_some() { Feature::MetadataSet } else { Feature::MetadataRemove };
                visit(feature, At::MetadataKey(key));
            }
        }
    }
    for (index, item) in update.line_items.iter().flatten().enumerate() {
        line_item_features(index, item, &mut visit);
    }
    let top_level = [
        (update.currency.is_some(), Feature::Currency, "/currency"),
        (update.shipping_rate.is_some(), Feature::ShippingRate, "/shipping_rate"),
        (!update.shipping_options.is_absent(), Feature::ShippingOptions, "/shipping_options"),
        (!update.shipping_details.is_absent(), Feature::ShippingDetails, "/shipping_details"),
        (!update.billing_details.is_absent(), Feature::BillingDetails, "/billing_details"),
    ];
    for (used, feature, pointer) in top_level {
        if used {
            visit(feature, At::Field(pointer));
        }
    }
    if let Some(redirects) = &update.redirects {
        let fields = [
            (&redirects.success_url, Feature::RedirectSuccessUrl, "/redirects/success_url"),
            (&redirects.cancel_url, Feature::RedirectCancelUrl, "/redirects/cancel_url"),
            (&redirects.success_message, Feature::RedirectSuccessMessage, "/redirects/success_message"),
        ];
        for (patch, feature, pointer) in fields {
            if !patch.is_absent() {
                visit(feature, At::Field(pointer));
            }
        }
    }
    if let Some(page) = &update.page {
        let fields = [
            (&page.title, Feature::PageTitle, "/page/title"),
            (&page.description, Feature::PageDescription, "/page/description"),
            (&page.image_url, Feature::PageImageUrl, "/page/image_url"),
        ];
        for (patch, feature, pointer) in fields {
            if !patch.is_absent() {
                visit(feature, At::Field(pointer));
            }
        }
    }
    if !update.description.is_absent() {
        visit(Feature::Description, At::Field("/description"));
    }
    if update.expires_in.is_some() {
        visit(Feature::ExpiresIn, At::Field("/expires_in"));
    }
}

fn line_item_features<'a>(index: usize, item: &LineItem, visit: &mut impl FnMut(Feature, At<'a>)) {
    let form = match item.form() {
        LineItemForm::Existing => Feature::LineItemsExisting,
        LineItemForm::Catalog => Feature::LineItemsCatalog,
        LineItemForm::AdHoc => Feature::LineItemsAdHoc,
    };
    visit(form, At::Item(index));
    // Zero amounts and empty lists ask for nothing, so a provider without the field can still
    // take them (DESIGN §10: "unless 0/empty").
    let optional = [
        (item.sku.is_some(), Feature::ItemSku, "sku"),
        (item.external_id.is_some(), Feature::ItemExternalId, "external_id"),
        (item.image_url.is_some(), Feature::ItemImageUrl, "image_url"),
        (item.discount_amount.is_some_and(|a| a != 0), Feature::ItemDiscountAmount, "discount_amount"),
        (item.tax_amount.is_some_and(|a| a != 0), Feature::ItemTaxAmount, "tax_amount"),
        (item.product_url.is_some(), Feature::ItemProductUrl, "product_url"),
        (item.categories.as_ref().is_some_and(|c| !c.is_empty()), Feature::ItemCategories, "categories"),
        (item.product_type.is_some(), Feature::ItemProductType, "product_type"),
    ];
    for (used, feature, field) in optional {
        if used {
            visit(feature, At::ItemField(index, field));
        }
    }
}

/// RFC 6901 escaping of one reference token.
pub fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The result of checking an update against an adapter before dispatch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UpdateCheck {
    /// Fields the provider cannot express (422 `unsupported_field`, or dropped under "ignore").
    pub unsupported: Vec<FieldProblem>,
    /// Fields that break this provider's rules (422 `validation_failed`).
    pub invalid: Vec<FieldProblem>,
}

/// An update that passed [`check_update`] for one provider: nothing in it is unsupported or
/// breaks the provider's rules. Only [`check_update`] makes one, so an adapter's `build_update`
/// takes it as given and never runs the checks again.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedUpdate {
    update: UnifiedUpdate,
}

impl CheckedUpdate {
    pub fn into_inner(self) -> UnifiedUpdate {
        self.update
    }
}

impl std::ops::Deref for CheckedUpdate {
    type Target = UnifiedUpdate;

    fn deref(&self) -> &UnifiedUpdate {
        &self.update
    }
}

/// An update [`check_update`] found problems in, handed back with them (boxed: an update is large).
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub update: UnifiedUpdate,
    /// Never empty.
    pub problems: UpdateCheck,
}

/// Check `update` against the declared table of `factory`'s kind and the value-dependent rules
/// of `adapter` (built by that factory). Every problem is reported at once; pointers are
/// deduplicated and sorted.
pub fn check_update(
    factory: &ProviderFactory,
    adapter: &dyn Adapter,
    update: UnifiedUpdate,
) -> Result<CheckedUpdate, Box<Refused>> {
    let problems = problems(factory, adapter, &update);
    if problems.unsupported.is_empty() && problems.invalid.is_empty() {
        Ok(CheckedUpdate { update })
    } else {
        Err(Box::new(Refused { update, problems }))
    }
}

fn problems(factory: &ProviderFactory, adapter: &dyn Adapter, update: &UnifiedUpdate) -> UpdateCheck {
    let (kind, capabilities) = (factory.kind, factory.capabilities);
    let mut check = UpdateCheck::default();
    // The table looked up once per feature, not once per use (100 items use ~300 features).
    let unsupported = Feature::ALL.map(|feature| capabilities.support(feature) == Support::Unsupported);
    visit_features(update, |feature, at| {
        if unsupported[feature as usize] {
            let detail = format!("{kind} cannot update {}", feature.field());
            check.unsupported.push(FieldProblem::new(at.pointer(), detail));
        }
    });
    // Per-item provider options only count for the resolved provider's own kind.
    if capabilities.support(Feature::ItemProviderOptions) == Support::Unsupported {
        for (index, item) in update.line_items.iter().flatten().enumerate() {
            if item.provider_options.contains_key(kind) {
                let detail = format!("{kind} takes no per-item provider options");
                let pointer = format!("/line_items/{index}/provider_options/{kind}");
                check.unsupported.push(FieldProblem::new(pointer, detail));
            }
        }
    }
    let refined = adapter.check_update(update);
    check.unsupported.extend(refined.unsupported);
    check.invalid.extend(refined.invalid);
    for list in [&mut check.unsupported, &mut check.invalid] {
        list.sort_by(|a, b| a.pointer.cmp(&b.pointer));
        list.dedup_by(|a, b| a.pointer == b.pointer);
    }
    check
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{
        Access, AdapterError, ConfigError, Context, CurrentState, ProviderRequest, ProviderResponse, ProviderSetup,
        UnifiedSession,
    };

    /// Metadata only, and one rule: `description` must not be empty.
    struct Demo;

    static DEMO_CAPABILITIES: Capabilities = Capabilities {
        features: &[(Feature::MetadataSet, Support::Native("metadata")), (Feature::Description, Support::Native("d"))],
        idempotency: IdempotencyMode::Unsafe,
    };

    fn no_build(_: &ProviderSetup<'_>) -> Result<std::sync::Arc<dyn Adapter>, ConfigError> {
        Err(ConfigError::new("", "not built in tests"))
    }

    static DEMO: ProviderFactory = ProviderFactory {
        kind: "demo",
        capabilities: &DEMO_CAPABILITIES,
        build: no_build,
        simulator: None,
        session_ids: crate::SessionIdFormat { pattern: "^demo_[a-z]+$", example: "demo_a", described: "demo ids" },
    };

    impl Adapter for Demo {
        fn check_update(&self, update: &UnifiedUpdate) -> UpdateCheck {
            let mut check = UpdateCheck::default();
            if update.description.value().is_some_and(String::is_empty) {
                check.invalid.push(FieldProblem::new("/description", "empty"));
            }
            check
        }

        fn build_update(
            &self,
            _: &CheckedUpdate,
            _: CurrentState<'_>,
            _: &Context,
        ) -> Result<ProviderRequest, AdapterError> {
            crate::wire::finish(crate::wire::request(http::Method::POST, "/"), Vec::new())
        }

        fn build_retrieve(&self, _: &Context) -> Result<ProviderRequest, AdapterError> {
            crate::wire::finish(crate::wire::request(http::Method::GET, "/"), Vec::new())
        }

        fn parse_session(&self, _: &ProviderResponse, _: &Context) -> Result<UnifiedSession, AdapterError> {
            Err(AdapterError::unparseable("not used"))
        }

        fn auth_headers(&self, _: Access, _: &[&str], _: &Context) -> Result<http::HeaderMap, AdapterError> {
            Ok(http::HeaderMap::new())
        }
    }

    fn check(body: serde_json::Value) -> Result<CheckedUpdate, Box<Refused>> {
        let update: UnifiedUpdate = serde_json::from_value(body).unwrap_or_else(|e| panic!("{e}"));
        check_update(&DEMO, &Demo, update)
    }

    #[test]
    fn only_an_update_without_problems_is_checked() {
        let checked = check(json!({"metadata": {"a": "b"}})).unwrap_or_else(|refused| panic!("{refused:?}"));
        assert_eq!(checked.into_inner().description, Patch::Absent);
        let refused = check(json!({"currency": "usd", "metadata": {"a": null}, "description": ""}))
            .err()
            .unwrap_or_else(|| panic!("refused"));
        let pointers = |problems: &[FieldProblem]| problems.iter().map(|p| p.pointer.clone()).collect::<Vec<_>>();
        assert_eq!(pointers(&refused.problems.unsupported), ["/currency", "/metadata/a"]);
        assert_eq!(pointers(&refused.problems.invalid), ["/description"]);
        assert_eq!(refused.problems.unsupported[0].detail, "demo cannot update currency");
        assert_eq!(refused.update.currency.as_deref(), Some("usd"), "the update comes back whole");
    }

    #[test]
    fn every_use_has_its_pointer_and_only_problems_are_written_out() {
        let update: UnifiedUpdate = serde_json::from_value(json!({
            "metadata": {"a/b~c": "x", "gone": null},
            "line_items": [{"name": "n", "unit_amount": 1, "sku": "s", "tax_amount": 0}, {"id": "li_1", "categories": ["c"]}],
            "page": {"title": "t"},
            "expires_in": 60
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let uses = features_used(&update);
        let listed: Vec<_> = uses.iter().map(|u| (u.feature, u.pointer.as_str())).collect();
        assert_eq!(
            listed,
            [
                (Feature::MetadataSet, "/metadata/a~1b~0c"),
                (Feature::MetadataRemove, "/metadata/gone"),
                (Feature::LineItemsAdHoc, "/line_items/0"),
                (Feature::ItemSku, "/line_items/0/sku"),
                (Feature::LineItemsExisting, "/line_items/1"),
                (Feature::ItemCategories, "/line_items/1/categories"),
                (Feature::PageTitle, "/page/title"),
                (Feature::ExpiresIn, "/expires_in"),
            ]
        );
        assert_eq!(features_in(&update), uses.iter().map(|u| u.feature).collect::<Vec<_>>());
        // Demo supports only metadata set and description: every other use is reported, at its pointer.
        let refused = check_update(&DEMO, &Demo, update).err().unwrap_or_else(|| panic!("refused"));
        let pointers: Vec<_> = refused.problems.unsupported.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/expires_in",
                "/line_items/0",
                "/line_items/0/sku",
                "/line_items/1",
                "/line_items/1/categories",
                "/metadata/gone",
                "/page/title"
            ]
        );
    }
}
