//! What the Stripe adapter can express (DESIGN §10, stripe column). Features not listed are
//! unsupported; value-dependent limits live in `rules.rs`. Stripe takes dynamic line item,
//! shipping option and shipping detail updates only for embedded or custom (elements) sessions,
//! never for hosted pages; which kind a session is shows only in Stripe's answer (a 400,
//! `provider_rejected`), so the texts say so rather than the gateway guessing.

use checkout_provider_interface::{Capabilities, Feature, IdempotencyMode, Support};

pub static CAPABILITIES: Capabilities = Capabilities {
    features: &[
        (Feature::MetadataSet, Support::Native("metadata[k]=v (Stripe merges keys)")),
        (Feature::MetadataRemove, Support::Native("metadata[k]= removes a key, metadata= clears all")),
        (
            Feature::LineItemsAdHoc,
            Support::Native(
                "line_items[i][price_data] with product_data[name] and unit_amount; needs `currency`; embedded/custom sessions only",
            ),
        ),
        (
            Feature::LineItemsExisting,
            Support::Native(
                "line_items[i][id], optionally with quantity, a new inline price ([price_data] from name + unit_amount [+ image_url]) and metadata; embedded/custom sessions only",
            ),
        ),
        (
            Feature::LineItemsCatalog,
            Support::Native("line_items[i][price] with quantity; embedded/custom sessions only"),
        ),
        (
            Feature::ItemSku,
            Support::ProviderMetadata(
                "line_items[i][metadata][sku] (api_version 2025-12-15.clover or later, any item); before: price_data[product_data][metadata][sku] (ad-hoc items)",
            ),
        ),
        (
            Feature::ItemExternalId,
            Support::ProviderMetadata(
                "line_items[i][metadata][external_id] (api_version 2025-12-15.clover or later, any item); before: price_data[product_data][metadata][external_id] (ad-hoc items)",
            ),
        ),
        (
            Feature::ItemImageUrl,
            Support::Native(
                "price_data[product_data][images][0] (ad-hoc items, and {id} items given a new inline price)",
            ),
        ),
        (
            Feature::ItemProviderOptions,
            Support::Native("merged into line_items[i] (e.g. adjustable_quantity, tax_rates, metadata)"),
        ),
        (
            Feature::Currency,
            Support::Native("price_data[currency] of ad-hoc items and fixed_amount[currency] of inline shipping rates"),
        ),
        (
            Feature::ShippingOptions,
            Support::Native(
                "shipping_options[i][shipping_rate] or [shipping_rate_data]; null clears (shipping_options=); embedded/custom sessions with permissions.update_shipping_details=server_only only",
            ),
        ),
        (
            Feature::ShippingDetails,
            Support::Native(
                "collected_information[shipping_details] (name + address); a partial patch is merged onto the current details after a read; embedded/custom sessions only",
            ),
        ),
    ],
    // Every update is an overwrite (metadata keys set or unset, lists and details replaced), so
    // the gateway may retry it; each attempt carries a fresh key (`idempotency.rs`).
    idempotency: IdempotencyMode::Overwrite,
};
