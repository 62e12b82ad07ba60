//! The web frameworks' traits on the session surface, each behind the optional feature of its
//! framework (as tower-sessions-core carries its axum-core extractor): the handle as a handler
//! argument, and its errors as responses with the status each error's `http_status` says. The
//! adapter crates enable them; nothing else here knows a framework.

#[cfg(feature = "actix-web")]
mod actix;
#[cfg(feature = "axum-core")]
mod axum;

/// Logs an error a handler answered with: `error` for a `500` (a bug or an outage), `warn`
/// otherwise (a `503` "try again" or a `401`). The response itself is opaque: the details are
/// for logs, not for clients.
#[cfg(any(feature = "actix-web", feature = "axum-core"))]
fn log_answered(status: u16, err: &dyn std::error::Error) {
    if status == 500 {
        tracing::error!(target: crate::LOG_TARGET, status, "session error: {err}");
    } else {
        tracing::warn!(target: crate::LOG_TARGET, status, "session error: {err}");
    }
}
