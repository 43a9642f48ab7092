//! Declared capabilities: which unified fields each provider can express, and how. The gateway
//! checks a request against them before any provider call (DESIGN §1.2, §10).

use serde::Serialize;

use crate::unified::{LineItem, LineItemForm, Patch, UnifiedUpdate};
use crate::{Adapter, FieldProblem};

/// One thing a unified request can ask for. The list follows DESIGN §10's mapping table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    MetadataSet,
    MetadataRemove,
    LineItemsAdHoc,
    LineItemsExisting,
    LineItemsCatalog,
    ItemSku,
    ItemExternalId,
    ItemImageUrl,
    ItemDiscountAmount,
    ItemTaxAmount,
    ItemProductUrl,
    ItemCategories,
    ItemProductType,
    ItemProviderOptions,
    Currency,
    ShippingRate,
    ShippingOptions,
    ShippingDetails,
    BillingDetails,
    RedirectSuccessUrl,
    RedirectCancelUrl,
    RedirectSuccessMessage,
    PageTitle,
    PageDescription,
    PageImageUrl,
    Description,
    ExpiresIn,
}

impl Feature {
    pub const ALL: [Self; 27] = [
        Self::MetadataSet,
        Self::MetadataRemove,
        Self::LineItemsAdHoc,
        Self::LineItemsExisting,
        Self::LineItemsCatalog,
        Self::ItemSku,
        Self::ItemExternalId,
        Self::ItemImageUrl,
        Self::ItemDiscountAmount,
        Self::ItemTaxAmount,
        Self::ItemProductUrl,
        Self::ItemCategories,
        Self::ItemProductType,
        Self::ItemProviderOptions,
        Self::Currency,
        Self::ShippingRate,
        Self::ShippingOptions,
        Self::ShippingDetails,
        Self::BillingDetails,
        Self::RedirectSuccessUrl,
        Self::RedirectCancelUrl,
        Self::RedirectSuccessMessage,
        Self::PageTitle,
        Self::PageDescription,
        Self::PageImageUrl,
        Self::Description,
        Self::ExpiresIn,
    ];

    /// Where the feature lives in the unified request, for people reading the matrix.
    pub fn field(self) -> &'static str {
        match self {
            Self::MetadataSet => "metadata (set a key)",
            Self::MetadataRemove => "metadata (remove a key / clear)",
            Self::LineItemsAdHoc => "line_items[] ad-hoc item",
            Self::LineItemsExisting => "line_items[] {id}",
            Self::LineItemsCatalog => "line_items[] {price}",
            Self::ItemSku => "line_items[].sku",
            Self::ItemExternalId => "line_items[].external_id",
            Self::ItemImageUrl => "line_items[].image_url",
            Self::ItemDiscountAmount => "line_items[].discount_amount",
            Self::ItemTaxAmount => "line_items[].tax_amount",
            Self::ItemProductUrl => "line_items[].product_url",
            Self::ItemCategories => "line_items[].categories",
            Self::ItemProductType => "line_items[].product_type",
            Self::ItemProviderOptions => "line_items[].provider_options.<kind>",
            Self::Currency => "currency",
            Self::ShippingRate => "shipping_rate",
            Self::ShippingOptions => "shipping_options",
            Self::ShippingDetails => "shipping_details",
            Self::BillingDetails => "billing_details",
            Self::RedirectSuccessUrl => "redirects.success_url",
            Self::RedirectCancelUrl => "redirects.cancel_url",
            Self::RedirectSuccessMessage => "redirects.success_message",
            Self::PageTitle => "page.title",
            Self::PageDescription => "page.description",
            Self::PageImageUrl => "page.image_url",
            Self::Description => "description",
            Self::ExpiresIn => "expires_in",
        }
    }
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    let mut add = |feature, pointer: String| uses.push(FeatureUse { feature, pointer });
    match &update.metadata {
        Patch::Absent => {}
        Patch::Clear => add(Feature::MetadataRemove, "/metadata".to_owned()),
        Patch::Set(map) => {
            for (key, value) in map {
                let feature = if value.is_some() { Feature::MetadataSet } else { Feature::MetadataRemove };
                add(feature, format!("/metadata/{}", escape_pointer(key)));
            }
        }
    }
    for (index, item) in update.line_items.iter().flatten().enumerate() {
        line_item_features(index, item, &mut add);
    }
    if update.currency.is_some() {
        add(Feature::Currency, "/currency".to_owned());
    }
    if update.shipping_rate.is_some() {
        add(Feature::ShippingRate, "/shipping_rate".to_owned());
    }
    if !update.shipping_options.is_absent() {
        add(Feature::ShippingOptions, "/shipping_options".to_owned());
    }
    if !update.shipping_details.is_absent() {
        add(Feature::ShippingDetails, "/shipping_details".to_owned());
    }
    if !update.billing_details.is_absent() {
        add(Feature::BillingDetails, "/billing_details".to_owned());
    }
    if let Some(redirects) = &update.redirects {
        let fields = [
            (&redirects.success_url, Feature::RedirectSuccessUrl, "/redirects/success_url"),
            (&redirects.cancel_url, Feature::RedirectCancelUrl, "/redirects/cancel_url"),
            (&redirects.success_message, Feature::RedirectSuccessMessage, "/redirects/success_message"),
        ];
        for (patch, feature, pointer) in fields {
            if !patch.is_absent() {
                add(feature, pointer.to_owned());
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
                add(feature, pointer.to_owned());
            }
        }
    }
    if !update.description.is_absent() {
        add(Feature::Description, "/description".to_owned());
    }
    if update.expires_in.is_some() {
        add(Feature::ExpiresIn, "/expires_in".to_owned());
    }
    uses
}

fn line_item_features(index: usize, item: &LineItem, add: &mut impl FnMut(Feature, String)) {
    let base = format!("/line_items/{index}");
    let form = match item.form() {
        LineItemForm::Existing => Feature::LineItemsExisting,
        LineItemForm::Catalog => Feature::LineItemsCatalog,
        LineItemForm::AdHoc => Feature::LineItemsAdHoc,
    };
    add(form, base.clone());
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
            add(feature, format!("{base}/{field}"));
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

/// Check `update` against the adapter's declared table and its value-dependent rules.
/// Every problem is reported at once; pointers are deduplicated and sorted.
pub fn check_update(adapter: &dyn Adapter, update: &UnifiedUpdate) -> UpdateCheck {
    let capabilities = adapter.capabilities();
    let mut check = UpdateCheck::default();
    for used in features_used(update) {
        if capabilities.support(used.feature) == Support::Unsupported {
            let detail = format!("{} cannot update {}", adapter.kind(), used.feature.field());
            check.unsupported.push(FieldProblem::new(used.pointer, detail));
        }
    }
    // Per-item provider options only count for the resolved provider's own kind.
    if capabilities.support(Feature::ItemProviderOptions) == Support::Unsupported {
        for (index, item) in update.line_items.iter().flatten().enumerate() {
            if item.provider_options.contains_key(adapter.kind()) {
                let detail = format!("{} takes no per-item provider options", adapter.kind());
                let pointer = format!("/line_items/{index}/provider_options/{}", adapter.kind());
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
