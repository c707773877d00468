//! Serving the API over HTTP/1.1 with the limits `axum::serve` does not set, against slow or broken
//! clients:
//! - a **head timeout** ([`HEAD_TIMEOUT`]): a connection must deliver a complete request head within it,
//!   whether it is new or idle between keep-alive requests, so one that sends nothing, or one byte every
//!   few seconds (slowloris), is closed instead of held forever;
//! - a **body timeout** ([`BODY_TIMEOUT`], a layer in the router): a body must arrive within it;
//! - **errors before routing in the envelope**: hyper answers a request it cannot parse (bad header bytes,
//!   an oversized URI or head) itself, with an empty body. [`EnvelopeErrors`] rewrites exactly those answers
//!   (the router's own always carry `x-request-id`; hyper's never do) into the API's error envelope.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// Longest wait for a complete request head (a new connection's first, or the next on a kept-alive one).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait for a request body.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `app` on `listener` until `shutdown`, then lets requests in flight finish.
pub async fn serve(listener: tokio::net::TcpListener, app: Router, shutdown: CancellationToken) {
    let connections = TaskTracker::new();
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors, say: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(HEAD_TIMEOUT).keep_alive(true);
            let conn = builder.serve_connection(TokioIo::new(EnvelopeErrors::new(stream)), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                () = shutdown.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    connections.close();
    connections.wait().await;
}

/// A connection whose error answers written by hyper itself (see the module docs) are rewritten into the
/// API's envelope on their way out.
pub struct EnvelopeErrors<S> {
    inner: S,
    /// A rewritten answer not fully written yet.
    pending: Vec<u8>,
    written: usize,
}

impl<S> EnvelopeErrors<S> {
    /// Wraps `inner`.
    pub const fn new(inner: S) -> Self {
        Self { inner, pending: Vec::new(), written: 0 }
    }
}

/// The envelope answer replacing `out`, if `out` is an error answer hyper wrote itself: a complete
/// 4xx/5xx head, no body, no `x-request-id`.
pub fn envelope_for(out: &[u8]) -> Option<Vec<u8>> {
    let head_end = out.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&out[..head_end]).ok()?.to_ascii_lowercase();
    let status: u16 = head.strip_prefix("http/1.1 ")?.get(..3)?.parse().ok()?;
    let empty = head.lines().any(|l| l.trim() == "content-length: 0");
    if status < 400 || !empty || out.len() != head_end + 4 || head.contains("x-request-id:") {
        return None;
    }
    let (code, message) = match status {
        414 => ("uri_too_long", "the request URI is too long"),
        431 => ("headers_too_large", "the request headers are too large"),
        408 => ("request_timeout", "the request took too long to arrive"),
        400..=499 => {
            ("malformed_request", "the request is not valid HTTP/1.1 (a malformed request line or header)")
        }
        _ => ("internal_error", "the request could not be served"),
    };
    let kind = if status >= 500 { "api_error" } else { "invalid_request_error" };
    let body = serde_json::json!({ "error": { "type": kind, "code": code, "message": message } }).to_string();
    let reason =
        axum::http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
    Some(
        format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl<S: AsyncWrite + Unpin> EnvelopeErrors<S> {
    /// Writes what is left of a rewritten answer.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            match Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for EnvelopeErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for EnvelopeErrors<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        if let Some(rewritten) = envelope_for(buf) {
            self.pending = rewritten;
            // Taken whole; what the socket does not take now goes out on the next write or flush.
            let _ = self.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.drain(cx)?.is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    // Not vectored: hyper then hands each answer over in one buffer, which `envelope_for` reads whole.
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hypers_own_empty_error_answers_are_rewritten() {
        let hyper_400 =
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Mon, 23 Nov 2026 00:00:00 GMT\r\n\r\n";
        let rewritten =
            envelope_for(hyper_400).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        assert!(rewritten.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{rewritten}");
        let body: serde_json::Value =
            serde_json::from_str(rewritten.split("\r\n\r\n").nth(1).unwrap_or_default()).unwrap_or_default();
        assert_eq!(body["error"]["code"], "malformed_request");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        let too_long =
            envelope_for(b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n\r\n").unwrap_or_default();
        assert!(String::from_utf8_lossy(&too_long).contains("uri_too_long"));
        for untouched in [
            &b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nx-request-id: req_1\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
        ] {
            assert_eq!(envelope_for(untouched), None, "{}", String::from_utf8_lossy(untouched));
        }
    }
}
