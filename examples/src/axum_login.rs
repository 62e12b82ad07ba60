//! The login app on axum and sealed cookie sessions: [`crate::contract`]'s routes, with the
//! session of [`crate::sealed`] (the same as the actix app's).

use axum::Router;
use sealed_session_tower::{CookieSessionLayer, Session};

/// The app: the contract's routes behind `sessions`.
pub fn app(sessions: CookieSessionLayer) -> Router {
    crate::contract_axum::routes::<Session>().layer(sessions)
}
