//! The pages' CSS and scripts, written by hand, committed under `services/gateway/assets/` and
//! embedded in the binary: `make run` needs nothing installed for them. Each is addressed with
//! its content's hash (`/assets/app.css?v=…`), so a browser keeps it for good and a new build
//! is fetched afresh.

use std::{
    hash::{Hash as _, Hasher as _},
    sync::LazyLock,
};

use axum::{
    extract::{Path, Query},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: [Asset; 2] = [
    Asset { name: "app.css", content_type: "text/css; charset=utf-8", body: include_str!("../../assets/app.css") },
    Asset { name: "icon.svg", content_type: "image/svg+xml", body: include_str!("../../assets/icon.svg") },
];

/// Each asset's address, with the hash of its content.
static ADDRESSES: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let mut hasher = std::hash::DefaultHasher::new();
            asset.body.hash(&mut hasher);
            format!("/assets/{}?v={:016x}", asset.name, hasher.finish())
        })
        .collect()
});

/// The stylesheet's address.
pub(crate) fn stylesheet() -> &'static str {
    &ADDRESSES[0]
}

/// The site's icon's address.
pub(crate) fn icon() -> &'static str {
    &ADDRESSES[1]
}

#[derive(serde::Deserialize)]
pub(crate) struct Version {
    v: Option<String>,
}

/// `GET /assets/{name}`: kept for good when asked by its current address, for a few minutes
/// otherwise.
pub(crate) async fn serve(Path(name): Path<String>, Query(version): Query<Version>) -> Response {
    let Some(index) = ASSETS.iter().position(|asset| asset.name == name) else {
        return super::PageError::not_found("There is no such asset.").into_response();
    };
    let asset = &ASSETS[index];
    let current = version.v.is_some_and(|v| ADDRESSES[index].ends_with(&format!("?v={v}")));
    let cache = if current { "public, max-age=31536000, immutable" } else { "public, max-age=300" };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        asset.body,
    )
        .into_response()
}
