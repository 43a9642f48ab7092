//! What the Stripe adapter can express (DESIGN §10, stripe column). Features not listed are
//! unsupported; value-dependent limits live in `rules.rs`.

use checkout_provider_interface::{Capabilities, Feature, IdempotencyMode, Support};

pub static CAPABILITIES: Capabilities = Capabilities {
    features: &[
        (Feature::MetadataSet, Support::Native("metadata[k]=v (Stripe merges keys)")),
        (Feature::MetadataRemove, Support::Native("metadata[k]= removes a key, metadata= clears all")),
        (
            Feature::LineItemsAdHoc,
            Support::Native("line_items[i][price_data] with product_data[name] and unit_amount; needs `currency`"),
        ),
        (Feature::LineItemsExisting, Support::Native("line_items[i][id], optionally with quantity")),
        (Feature::LineItemsCatalog, Support::Native("line_items[i][price] with quantity")),
        (Feature::ItemSku, Support::ProviderMetadata("price_data[product_data][metadata][sku] (ad-hoc items)")),
        (
            Feature::ItemExternalId,
            Support::ProviderMetadata("price_data[product_data][metadata][external_id] (ad-hoc items)"),
        ),
        (Feature::ItemImageUrl, Support::Native("price_data[product_data][images][0] (ad-hoc items)")),
        (
            Feature::Currency,
            Support::Native("price_data[currency] of ad-hoc items and fixed_amount[currency] of inline shipping rates"),
        ),
        (
            Feature::ShippingOptions,
            Support::Native(
                "shipping_options[i][shipping_rate] or [shipping_rate_data]; null clears (shipping_options=)",
            ),
        ),
        (
            Feature::ShippingDetails,
            Support::Native(
                "collected_information[shipping_details] (name + address); a partial patch is merged onto the current details after a read",
            ),
        ),
    ],
    idempotency: IdempotencyMode::ForwardsKey,
};
