//! Who is at the other end, for the per-IP limits: the viewer's address the CDN vouched for (see
//! [`through_cdn`]); else the peer address when the server accepted the connection itself (the
//! local server); else the address the proxy in front appended last to `X-Forwarded-For` (API
//! Gateway), which a client cannot forge.

use std::{convert::Infallible, net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, FromRequestParts, Request, State},
    http::request::Parts,
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{error::ErrorCode, secrets::constant_time_eq};

/// The viewer's address, as the CDN in front reported it.
#[derive(Clone)]
struct ViewerIp(String);

/// With `IMGCLOUD_ORIGIN_SECRET` (the CDN adds it as `X-Imgcloud-Origin` to every request it
/// forwards): refuses requests that come around the CDN (403), and trusts the CDN's
/// `CloudFront-Viewer-Address` (`<ip>:<port>`) for the per-IP limits.
pub async fn through_cdn(State(secret): State<Arc<str>>, mut request: Request, next: Next) -> Response {
    let presented = request.headers().get("x-imgcloud-origin").map(|v| v.as_bytes()).unwrap_or_default();
    if !constant_time_eq(presented, secret.as_bytes()) {
        return ErrorCode::Forbidden.with("requests reach this origin through its CDN only").into_response();
    }
    let viewer = request
        .headers()
        .get("cloudfront-viewer-address")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit_once(':'))
        .map(|(ip, _port)| ip.trim_matches(['[', ']']).to_owned())
        .filter(|ip| !ip.is_empty());
    if let Some(ip) = viewer {
        request.extensions_mut().insert(ViewerIp(ip));
    }
    next.run(request).await
}

pub struct ClientIp(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        if let Some(ViewerIp(ip)) = parts.extensions.get::<ViewerIp>() {
            return Ok(Self(ip.clone()));
        }
        if let Some(ConnectInfo(addr)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            return Ok(Self(addr.ip().to_string()));
        }
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .map(|ip| ip.trim().to_owned())
            .filter(|ip| !ip.is_empty());
        Ok(Self(forwarded.unwrap_or_else(|| "unknown".to_owned())))
    }
}
