//! Downloading `GET /snapshot` from a server's admin listener into a file:
//! one HTTP/1.1 request (hyper), the body streamed to `FILE.part` with a
//! progress bar on a terminal, then checked and renamed into place.

use super::Checked;
use anyhow::Context;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::header;
use hyper_util::rt::TokioIo;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// How long connecting may take.
const CONNECT_LIMIT: Duration = Duration::from_secs(10);
/// How long the server may take to answer (a member first catches up with
/// its leader) or go silent in the middle of the body.
const IDLE_LIMIT: Duration = Duration::from_secs(60);
/// Most bytes of an error answer shown.
const ERROR_BODY_BYTES: usize = 4096;

/// `HOST:PORT` of an admin URL (`http://HOST:PORT[/]` or `HOST:PORT`).
fn authority(admin: &str) -> anyhow::Result<String> {
    let rest = match admin.split_once("://") {
        Some(("http", rest)) => rest,
        Some((scheme, _)) => {
            anyhow::bail!("--admin {admin}: only http:// is supported, not {scheme}://")
        }
        None => admin,
    };
    let authority = rest.trim_end_matches('/');
    anyhow::ensure!(
        !authority.is_empty() && !authority.contains('/'),
        "--admin {admin}: expected http://HOST:PORT"
    );
    Ok(authority.to_string())
}

/// Streams a snapshot of the server at `admin` into `file`; returns what
/// the checked file holds.
pub async fn save(admin: &str, auth: Option<&str>, file: &Path) -> anyhow::Result<Checked> {
    let authority = authority(admin)?;
    let part = part_path(file);
    let fetched = download(&authority, auth, &part).await;
    let checked = match fetched {
        Ok(expected) => {
            let check_path = part.clone();
            tokio::task::spawn_blocking(move || super::check(&check_path))
                .await
                .context("checking the download")?
                .and_then(|checked| {
                    if let Some(zxid) = expected {
                        anyhow::ensure!(
                            checked.header.zxid == zxid,
                            "the server said zxid {zxid:#x}, the file holds {:#x}",
                            checked.header.zxid
                        );
                    }
                    Ok(checked)
                })
        }
        Err(e) => Err(e),
    };
    match checked {
        Ok(checked) => {
            tokio::fs::rename(&part, file)
                .await
                .with_context(|| format!("rename {} to {}", part.display(), file.display()))?;
            Ok(checked)
        }
        Err(error) => {
            let _ = tokio::fs::remove_file(&part).await;
            Err(error)
        }
    }
}

/// `FILE.part`, beside `file`.
fn part_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".part");
    PathBuf::from(name)
}

/// Fetches the body into `part` (fsynced); returns the zxid the server
/// announced, if it did.
async fn download(authority: &str, auth: Option<&str>, part: &Path) -> anyhow::Result<Option<i64>> {
    let stream = tokio::time::timeout(CONNECT_LIMIT, tokio::net::TcpStream::connect(authority))
        .await
        .map_err(|_| anyhow::anyhow!("connecting to {authority} timed out"))?
        .with_context(|| format!("connect to {authority}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .context("HTTP handshake")?;
    let driver = tokio::spawn(connection);
    let mut request = hyper::Request::get("/snapshot").header(header::HOST, authority);
    if let Some(auth) = auth {
        request = request.header(header::AUTHORIZATION, format!("digest {auth}"));
    }
    let request = request.body(Empty::<Bytes>::new())?;
    let response = tokio::time::timeout(IDLE_LIMIT, sender.send_request(request))
        .await
        .map_err(|_| anyhow::anyhow!("{authority} did not answer within {IDLE_LIMIT:?}"))?
        .with_context(|| format!("GET http://{authority}/snapshot"))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.into_body().collect().await.map(|b| b.to_bytes());
        let text = body.map_or_else(
            |_| String::new(),
            |b| {
                String::from_utf8_lossy(&b[..b.len().min(ERROR_BODY_BYTES)])
                    .trim()
                    .to_string()
            },
        );
        driver.abort();
        anyhow::bail!("http://{authority}/snapshot answered {status}: {text}");
    }
    let headers = response.headers();
    let size = number(headers.get("snapshot_size"))
        .or_else(|| number(headers.get(header::CONTENT_LENGTH)));
    let zxid = headers
        .get("last_zxid")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| i64::from_str_radix(v.trim_start_matches("0x"), 16).ok());
    let progress = progress_bar(size);
    let mut out = tokio::fs::File::create(part)
        .await
        .with_context(|| format!("create {}", part.display()))?;
    let mut body = response.into_body();
    let mut received = 0u64;
    loop {
        let frame = tokio::time::timeout(IDLE_LIMIT, body.frame())
            .await
            .map_err(|_| anyhow::anyhow!("{authority} went silent after {received} bytes"))?;
        let Some(frame) = frame else { break };
        let frame =
            frame.with_context(|| format!("reading the snapshot after {received} bytes"))?;
        if let Ok(data) = frame.into_data() {
            out.write_all(&data)
                .await
                .with_context(|| format!("write {}", part.display()))?;
            received += data.len() as u64;
            progress.set_position(received);
        }
    }
    progress.finish_and_clear();
    driver.abort();
    out.sync_all()
        .await
        .with_context(|| format!("fsync {}", part.display()))?;
    if let Some(size) = size {
        anyhow::ensure!(
            received == size,
            "the server announced {size} bytes and sent {received}"
        );
    }
    Ok(zxid)
}

fn number(value: Option<&header::HeaderValue>) -> Option<u64> {
    value?.to_str().ok()?.parse().ok()
}

/// A progress bar on stderr when it is a terminal; a hidden one otherwise.
fn progress_bar(size: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(size, ProgressDrawTarget::stderr());
    let template = if size.is_some() {
        "{spinner} snapshot [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
    } else {
        "{spinner} snapshot {bytes} {bytes_per_sec}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_urls_name_host_and_port() {
        assert_eq!(
            authority("http://127.0.0.1:8181").ok().as_deref(),
            Some("127.0.0.1:8181")
        );
        assert_eq!(authority("http://h:1/").ok().as_deref(), Some("h:1"));
        assert_eq!(authority("h:1").ok().as_deref(), Some("h:1"));
        assert!(authority("https://h:1").is_err());
        assert!(authority("http://h:1/snapshot").is_err());
        assert!(authority("http://").is_err());
        assert_eq!(
            part_path(Path::new("dir/b.crbk")),
            PathBuf::from("dir/b.crbk.part")
        );
    }
}
