//! A minimal HTTP/1.1 client for tests of the admin listener: one request
//! per connection (`Connection: close`), the whole body read.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An answer: status code and body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// The body, as text.
    pub body: String,
    /// The status line and headers, as sent.
    pub head: String,
}

impl Answer {
    /// The value of header `name` (case-insensitive), the first if several.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }
}

/// `GET path` on `addr`, within 10 s.
pub async fn get(addr: SocketAddr, path: &str) -> anyhow::Result<Answer> {
    tokio::time::timeout(Duration::from_secs(10), fetch(addr, path))
        .await
        .map_err(|_| anyhow::anyhow!("GET {path} on {addr} took over 10 s"))?
}

/// `GET path` with extra header lines (`"Cookie: a=b"`), within 10 s.
pub async fn get_with(addr: SocketAddr, path: &str, headers: &[String]) -> anyhow::Result<Answer> {
    send(addr, "GET", path, headers, "").await
}

/// `POST path` of a form body (`a=1&b=2`, already encoded) with extra
/// header lines, within 10 s.
pub async fn post_form(
    addr: SocketAddr,
    path: &str,
    headers: &[String],
    form: &str,
) -> anyhow::Result<Answer> {
    let mut all = headers.to_vec();
    all.push("Content-Type: application/x-www-form-urlencoded".to_string());
    send(addr, "POST", path, &all, form).await
}

async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[String],
    body: &str,
) -> anyhow::Result<Answer> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for line in headers {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    tokio::time::timeout(Duration::from_secs(10), exchange(addr, &head))
        .await
        .map_err(|_| anyhow::anyhow!("{method} {path} on {addr} took over 10 s"))?
}

async fn fetch(addr: SocketAddr, path: &str) -> anyhow::Result<Answer> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    exchange(addr, &request).await
}

async fn exchange(addr: SocketAddr, request: &str) -> anyhow::Result<Answer> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8(raw)?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("no header end in the answer"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no status in {head:?}"))?;
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_string()
    };
    Ok(Answer {
        status,
        body,
        head: head.to_string(),
    })
}

/// Joins a chunked body.
fn dechunk(mut rest: &str) -> anyhow::Result<String> {
    let mut body = String::new();
    loop {
        let (size, after) = rest
            .split_once("\r\n")
            .ok_or_else(|| anyhow::anyhow!("bad chunk"))?;
        let size = usize::from_str_radix(size.trim(), 16)?;
        if size == 0 {
            return Ok(body);
        }
        let chunk = after
            .get(..size)
            .ok_or_else(|| anyhow::anyhow!("short chunk"))?;
        body.push_str(chunk);
        rest = after.get(size + 2..).unwrap_or("");
    }
}
