//! `--rpc-cors`: which browser origins may call the server.
//!
//! A browser sends an `Origin` header with every cross-origin HTTP request
//! and with every WebSocket handshake, but enforces CORS only on HTTP: a
//! page of any origin may open a WebSocket to a node on the user's machine.
//! So the gate is on the server side, before jsonrpsee sees the request:
//!
//! * a request with an `Origin` not in the list is refused with
//!   `403 Forbidden` (the WebSocket handshake fails; nothing is called);
//! * a request from an allowed origin gets `Access-Control-Allow-Origin`
//!   (and `Vary: Origin`), and its CORS preflight (`OPTIONS`) is answered
//!   with the methods and headers JSON-RPC uses;
//! * a request without `Origin` (not from a browser: a collator, `curl`,
//!   a jsonrpsee client) passes, as with Substrate's `--rpc-cors`.
//!
//! Written here as one small tower layer because the library for the
//! header part (tower-http's `CorsLayer`) does not refuse a WebSocket
//! handshake from a disallowed origin, which is the part that protects a
//! local node.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{
    HeaderValue, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE, ORIGIN, VARY,
};
use http::{Method, StatusCode};
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use tower::{Layer, Service};

/// Which origins may call the server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cors {
    /// Every origin (`--rpc-cors all`, and the default).
    #[default]
    All,
    /// Only these origins, exactly as a browser sends them
    /// (`scheme://host[:port]`).
    Origins(Arc<[String]>),
}

/// A `--rpc-cors` value that is not `all` nor a list of origins.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--rpc-cors {value:?}: {reason}")]
pub struct CorsError {
    /// The value given.
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl std::str::FromStr for Cors {
    type Err = CorsError;

    /// `all` (or `*`), or a comma-separated list of origins such as
    /// `http://localhost:3000,https://polkadot.js.org`.
    fn from_str(value: &str) -> Result<Self, CorsError> {
        let error = |reason| CorsError {
            value: value.to_owned(),
            reason,
        };
        let value_trimmed = value.trim();
        if value_trimmed == "all" || value_trimmed == "*" {
            return Ok(Self::All);
        }
        let mut origins = Vec::new();
        for origin in value_trimmed.split(',').map(str::trim) {
            if origin.is_empty() {
                return Err(error("an empty origin"));
            }
            if origin == "null" {
                origins.push(origin.to_owned());
                continue;
            }
            let Some((scheme, rest)) = origin.split_once("://") else {
                return Err(error("an origin is `scheme://host[:port]`"));
            };
            if scheme.is_empty() || rest.is_empty() || rest.contains('/') {
                return Err(error("an origin is `scheme://host[:port]`, without a path"));
            }
            if HeaderValue::from_str(origin).is_err() {
                return Err(error("an origin must be a valid header value"));
            }
            origins.push(origin.to_owned());
        }
        Ok(Self::Origins(origins.into()))
    }
}

impl Cors {
    /// Whether a request with `Origin: origin` may be served.
    #[must_use]
    pub fn allows(&self, origin: &[u8]) -> bool {
        match self {
            Self::All => true,
            Self::Origins(list) => list.iter().any(|o| o.as_bytes() == origin),
        }
    }
}

/// The tower layer that applies a [`Cors`] policy.
#[derive(Debug, Clone)]
pub struct CorsLayer {
    cors: Cors,
}

impl CorsLayer {
    /// The layer for `cors`.
    #[must_use]
    pub fn new(cors: Cors) -> Self {
        Self { cors }
    }
}

impl<S> Layer<S> for CorsLayer {
    type Service = CorsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CorsService {
            inner,
            cors: self.cors.clone(),
        }
    }
}

/// The service [`CorsLayer`] wraps around the server's.
#[derive(Debug, Clone)]
pub struct CorsService<S> {
    inner: S,
    cors: Cors,
}

/// Marks `response` as readable by pages of `origin`.
fn allow(response: &mut HttpResponse<HttpBody>, origin: HeaderValue) {
    let headers = response.headers_mut();
    headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.append(VARY, HeaderValue::from_static("origin"));
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

fn response(status: StatusCode, body: &'static str) -> HttpResponse<HttpBody> {
    let mut response = HttpResponse::new(HttpBody::from(body));
    *response.status_mut() = status;
    response
}

impl<S, B> Service<HttpRequest<B>> for CorsService<S>
where
    S: Service<HttpRequest<B>, Response = HttpResponse<HttpBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = HttpResponse<HttpBody>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest<B>) -> Self::Future {
        let origin = request.headers().get(ORIGIN).cloned();
        let Some(origin) = origin else {
            return Box::pin(self.inner.call(request));
        };
        if !self.cors.allows(origin.as_bytes()) {
            return Box::pin(std::future::ready(Ok(response(
                StatusCode::FORBIDDEN,
                "origin not allowed (--rpc-cors)",
            ))));
        }
        if request.method() == Method::OPTIONS {
            let mut preflight = response(StatusCode::OK, "");
            allow(&mut preflight, origin);
            let headers = preflight.headers_mut();
            headers.insert(
                ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("POST, GET, OPTIONS"),
            );
            headers.insert(
                ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("content-type"),
            );
            headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("3600"));
            return Box::pin(std::future::ready(Ok(preflight)));
        }
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            allow(&mut response, origin);
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_into_policies() {
        assert_eq!("all".parse::<Cors>(), Ok(Cors::All));
        assert_eq!("*".parse::<Cors>(), Ok(Cors::All));
        let list: Cors = "http://localhost:3000, https://polkadot.js.org"
            .parse()
            .expect("two origins");
        assert!(list.allows(b"http://localhost:3000"));
        assert!(list.allows(b"https://polkadot.js.org"));
        assert!(!list.allows(b"https://evil.example"));
        assert!(!list.allows(b"http://localhost:3001"));
        assert!(Cors::All.allows(b"https://evil.example"));
        for bad in [
            "",
            "localhost",
            "http://",
            "http://a/b",
            "a,,b",
            "http://a\u{1}b",
        ] {
            assert!(bad.parse::<Cors>().is_err(), "{bad:?} accepted");
        }
    }
}
