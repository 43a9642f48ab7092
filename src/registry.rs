//! THE list of provider kinds: the only file in `src/` that names a provider. Adding a provider
//! is one line here (plus its crate in `providers/` and a dependency line in `Cargo.toml`).

use checkout_provider_interface::ProviderFactory;

/// Every provider kind the gateway can be configured with.
pub static PROVIDERS: &[&ProviderFactory] = &[
    &checkout_provider_stripe::FACTORY,
    &checkout_provider_mattilda::FACTORY,
    &checkout_provider_paypercut::FACTORY,
    &checkout_provider_crypto_invoice::FACTORY,
    &checkout_provider_paypal::FACTORY,
];

/// The factory for `kind`, if the gateway knows it.
pub fn factory(kind: &str) -> Option<&'static ProviderFactory> {
    PROVIDERS.iter().copied().find(|factory| factory.kind == kind)
}

/// The known kinds, for error messages.
pub fn kinds() -> Vec<&'static str> {
    PROVIDERS.iter().map(|factory| factory.kind).collect()
}
