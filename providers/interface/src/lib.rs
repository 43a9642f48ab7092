//! The contract between the gateway core and its provider adapters.
//!
//! An adapter is a pure translator: it turns a [`UnifiedUpdate`] plus a [`Context`] into an
//! [`http::Request`] for its provider, and a provider [`http::Response`] back into a
//! [`UnifiedSession`] or a classified [`AdapterError`]. Everything non-deterministic (clock,
//! request id, idempotency key, nonce) arrives in the context, so a contract case replays byte
//! for byte. Sending, retries, timeouts and logging live once in the gateway core.
//!
//! Capabilities are declared data ([`Capabilities`], once per kind on its [`ProviderFactory`]),
//! checked before dispatch by [`capability::check_update`], whose [`CheckedUpdate`] is the only
//! input `build_update` takes, so an unsupported field is never discovered by a stub at runtime
//! and adapters never re-run the checks.

pub mod adapter;
pub mod capability;
pub mod contract;
pub mod error;
#[cfg(feature = "kit")]
pub mod kit;
pub mod money;
pub mod secret;
pub mod session;
pub mod simulator;
pub mod timestamp;
pub mod token;
pub mod unified;
pub mod wire;

pub use adapter::{
    Access, Adapter, BuildSimulator, Context, CurrentState, ProviderFactory, ProviderSetup, SessionIdFormat,
    for_attempt, merge_item_options,
};
pub use capability::{Capabilities, CheckedUpdate, Feature, FeatureUse, IdempotencyMode, Support};
pub use error::{
    AdapterError, ConfigError, FailureClass, FieldProblem, InternalCause, ProviderFailure, SessionIdError,
};
pub use secret::{Secret, SecretRef, SecretResolver};
pub use session::{
    Amounts, DeliveryBound, DeliveryEstimate, Details, PageTexts, PaymentMethodSummary, PaymentStatus, RedirectTargets,
    SessionLineItem, SessionStatus, Shipping, ShippingRate, UnifiedSession, Warning,
};
pub use simulator::Simulator;
pub use token::{ClientCredentials, TokenEndpoint};
pub use unified::{
    AddressPatch, DetailsPatch, LineItem, LineItemForm, PagePatch, Patch, RedirectsPatch, ShippingOption, UnifiedUpdate,
};
pub use wire::{ProviderRequest, ProviderResponse};
