//! One `info` event per request, for both example apps: what a reader watches while trying the
//! page.

use std::time::Instant;

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

/// Logs the request's method and path (without the query string), the response's status and the
/// time taken, under this module's target. Nothing else: never a header, so never a cookie.
///
/// Wrap it outermost (`.wrap(from_fn(request_log::log))` after the session middleware's
/// `.wrap`), so the time includes opening and sealing the session, and a request the session
/// middleware refuses is logged with the status it answers.
///
/// # Errors
/// The inner service's error, passed on unchanged (and logged with its status).
pub async fn log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let result = next.call(req).await;
    let status = match &result {
        Ok(res) => res.status(),
        Err(err) => err.as_response_error().status_code(),
    };
    record(method.as_str(), &path, status.as_u16(), started);
    result
}

/// [`log`] for the axum app: wrap the router in `axum::middleware::from_fn(request_log::axum)`
/// as its last (outermost) layer.
pub async fn axum(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let res = next.run(req).await;
    record(method.as_str(), &path, res.status().as_u16(), started);
    res
}

/// The one event, the same for both frameworks.
fn record(method: &str, path: &str, status: u16, started: Instant) {
    tracing::info!(method, path, status, latency = ?started.elapsed(), "request");
}
