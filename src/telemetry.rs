//! Structured logs with a request id on every line, Prometheus metrics and the client address.
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

use crate::config::{ForwardedHeader, HttpSettings};

/// `MINXIN_LOG_FORMAT=json` for machines, anything else for people. `RUST_LOG` filters.
/// Logs go to stderr, so stdout carries only a command's output (`invite` prints its code
/// there for scripts); colours only when stderr is a terminal, never into files and pipes.
pub fn init() {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("MINXIN_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // try_init: tests start many apps in one process; only the first installs the subscriber.
    let _ = if json {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

/// The root span of every request: the request id and, once known, the caller.
pub struct RootSpan;

impl RootSpanBuilder for RootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        // Written out rather than `root_span!` so the target is logged without its query
        // string: WebSocket tickets and resume tokens travel there and stay out of the logs.
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default();
        let route = request.match_pattern().unwrap_or_default();
        // The address rate limits count, so the log shows what they acted on.
        let client_ip = request
            .app_data::<web::Data<HttpSettings>>()
            .map(|http| client_ip(request.peer_addr().map(|a| a.ip()), request.headers(), http))
            .unwrap_or_default();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %request.path(),
            http.client_ip = %client_ip,
            http.status_code = tracing::field::Empty,
            otel.kind = "server",
            otel.status_code = tracing::field::Empty,
            request_id = %request_id,
            user_id = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// The client's address, for rate limits and logs. Each trusted proxy appends the address it
/// received the request from, so the chain (the forwarding header's hops, then the peer) is
/// read from the right: the peer and the `trusted_proxies - 1` hops before it are our own
/// proxies, and the next hop to the left is the client. Anything further left was written by
/// the client and is ignored. With no trusted proxies the peer is the client.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, http: &HttpSettings) -> String {
    let peer = peer.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    if http.trusted_proxies == 0 {
        return peer;
    }
    let mut chain = match http.forwarded_header {
        ForwardedHeader::XForwardedFor => header_items(headers, "x-forwarded-for")
            .iter()
            .map(|hop| normalize_hop(hop))
            .collect::<Vec<_>>(),
        ForwardedHeader::Forwarded => header_items(headers, "forwarded")
            .iter()
            .map(|element| normalize_hop(&forwarded_for(element)))
            .collect(),
    };
    chain.push(peer);
    // Fewer hops than trusted proxies: the request skipped some; the left-most is the best
    // we know.
    let at = (chain.len() - 1).saturating_sub(http.trusted_proxies);
    chain.swap_remove(at)
}

/// The comma-separated items of every instance of the header, in order. Lossy, not strict:
/// a line a client filled with garbage must still count its hops.
fn header_items(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .flat_map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split(',')
                .map(|item| item.trim().to_string())
                .filter(|item| !item.is_empty())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The `for=` parameter of one `Forwarded` element (`unknown` when a proxy left it out).
fn forwarded_for(element: &str) -> String {
    element
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
        .map_or_else(
            || "unknown".into(),
            |(_, v)| v.trim().trim_matches('"').to_string(),
        )
}

/// An address as written by a proxy (`1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]:80`, `::1`)
/// → the bare IP; anything else (`unknown`, `_hidden`) is kept, trimmed to a safe key.
fn normalize_hop(hop: &str) -> String {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return ip.to_string();
    }
    if let Ok(sa) = hop.parse::<SocketAddr>() {
        return sa.ip().to_string();
    }
    if let Ok(ip) = hop
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return ip.to_string();
    }
    hop.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '_' | '-'))
        .take(64)
        .collect()
}

pub struct Metrics {
    pub registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("minxin".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route and status"),
            &["method", "route", "status"],
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "HTTP request latency"),
            &["method", "route"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        Ok(Self {
            registry,
            requests,
            duration,
        })
    }

    pub fn render(&self) -> String {
        use prometheus::Encoder;
        let mut buf = Vec::new();
        let enc = prometheus::TextEncoder::new();
        if let Err(e) = enc.encode(&self.registry.gather(), &mut buf) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        String::from_utf8_lossy(&buf).into_owned()
    }
}

/// Counts and times each request by its route pattern (never the raw path: ids would explode
/// the label set), and echoes the request id as `x-request-id`.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let start = Instant::now();
    let method = req.method().to_string();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let request_id = req.extensions().get::<RequestId>().map(|id| id.to_string());
    // Routes answer errors as responses (see `crate::auth::guard::guard_route`), so an `Err` here is rare.
    let mut res = next.call(req).await?.map_into_boxed_body();
    if let Some(m) = metrics {
        let route = res
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        let status = res.status().as_u16().to_string();
        m.requests
            .with_label_values(&[&method, &route, &status])
            .inc();
        m.duration
            .with_label_values(&[&method, &route])
            .observe(start.elapsed().as_secs_f64());
    }
    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), id);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn ip(
        trusted: usize,
        mode: ForwardedHeader,
        headers: &[(&'static str, &'static str)],
    ) -> String {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let http = HttpSettings {
            trusted_proxies: trusted,
            forwarded_header: mode,
            ..HttpSettings::default()
        };
        client_ip(Some("10.0.0.2".parse().unwrap()), &map, &http)
    }

    const XFF: ForwardedHeader = ForwardedHeader::XForwardedFor;
    const FWD: ForwardedHeader = ForwardedHeader::Forwarded;

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let h = [("x-forwarded-for", "1.1.1.1"), ("forwarded", "for=1.1.1.1")];
        assert_eq!(ip(0, XFF, &h), "10.0.0.2");
        assert_eq!(ip(0, FWD, &h), "10.0.0.2");
    }

    #[test]
    fn counts_trusted_hops_from_the_right() {
        let spoofed = [("x-forwarded-for", "6.6.6.6, 203.0.113.7")];
        assert_eq!(ip(1, XFF, &spoofed), "203.0.113.7");
        let two = [("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.1")];
        assert_eq!(ip(2, XFF, &two), "203.0.113.7");
        // Several header lines form one list, in order.
        let lines = [
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "203.0.113.7"),
        ];
        assert_eq!(ip(1, XFF, &lines), "203.0.113.7");
        // Fewer hops than proxies: the left-most known.
        assert_eq!(ip(3, XFF, &spoofed), "6.6.6.6");
        assert_eq!(ip(1, XFF, &[]), "10.0.0.2");
    }

    #[test]
    fn only_the_configured_header_counts() {
        let both = [
            ("x-forwarded-for", "203.0.113.7"),
            ("forwarded", "for=6.6.6.6"),
        ];
        assert_eq!(ip(1, XFF, &both), "203.0.113.7");
        let both = [
            ("x-forwarded-for", "6.6.6.6"),
            ("forwarded", "for=203.0.113.7;proto=https"),
        ];
        assert_eq!(ip(1, FWD, &both), "203.0.113.7");
    }

    #[test]
    fn parses_forwarded_elements_ports_and_ipv6() {
        let h = [(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\";by=10.0.0.1",
        )];
        assert_eq!(ip(1, FWD, &h), "2001:db8:cafe::17");
        assert_eq!(ip(2, FWD, &h), "6.6.6.6");
        let h = [("forwarded", "for=6.6.6.6, proto=https")];
        assert_eq!(ip(1, FWD, &h), "unknown", "an element without for=");
        let h = [("x-forwarded-for", "6.6.6.6, 203.0.113.7:51234")];
        assert_eq!(ip(1, XFF, &h), "203.0.113.7");
        let h = [("x-forwarded-for", "[2001:db8::1]")];
        assert_eq!(ip(1, XFF, &h), "2001:db8::1");
        let h = [("x-forwarded-for", "_hidden<script>")];
        assert_eq!(ip(1, XFF, &h), "_hiddenscript");
    }
}
