//! The console's two static files, compiled into the binary: its style
//! sheet and the one small script that enhances the node page (live
//! updates by server-sent events). Pages work without the script.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// The style sheet.
pub const STYLE: &str = include_str!("static/style.css");
/// The script.
pub const SCRIPT: &str = include_str!("static/ui.js");

/// `GET /ui/assets/NAME`.
pub async fn file(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "style.css" => (STYLE, "text/css; charset=utf-8"),
        "ui.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such file\n").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        body,
    )
        .into_response()
}
