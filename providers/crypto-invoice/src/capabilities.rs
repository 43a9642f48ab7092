//! What Speed can update (DESIGN §10, crypto-invoice column). Every feature not listed here is
//! unsupported: Speed's update takes only the eight fields mapped below.

use checkout_provider_interface::{Capabilities, Feature, IdempotencyMode, Support};

pub static CAPABILITIES: Capabilities = Capabilities {
    features: &[
        (Feature::MetadataSet, Support::Native("`metadata` object; Speed merges it into the session's metadata")),
        (Feature::RedirectSuccessUrl, Support::Native("`success_url` (exclusive with `success_message`)")),
        (Feature::RedirectCancelUrl, Support::Native("`cancel_url`")),
        (Feature::RedirectSuccessMessage, Support::Native("`success_message` (exclusive with `success_url`)")),
        (Feature::PageTitle, Support::Native("`title`")),
        (Feature::PageDescription, Support::Native("`title_description`")),
        (Feature::PageImageUrl, Support::Native("`title_image`")),
        (Feature::Description, Support::Native("`description`")),
    ],
    // No idempotency key is documented; the update sets fields (metadata merges), so a repeat
    // leaves the session as the first attempt did.
    idempotency: IdempotencyMode::Overwrite,
};
