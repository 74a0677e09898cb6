//! The pages' CSS and scripts, written by hand (ES modules, no build step), committed under
//! `services/gateway/assets/` and embedded in the binary: `make run` needs nothing installed for
//! them. One library is vendored: graphql-ws's browser build, pinned by version and checksum. Each is addressed with
//! its content's hash (`/assets/app.css?v=…`), so a browser keeps it for good and a new build
//! is fetched afresh.

use std::{
    hash::{Hash as _, Hasher as _},
    sync::LazyLock,
};

use axum::{
    extract::{Path, Query},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

const ASSETS: [Asset; 12] = [
    Asset { name: "app.css", content_type: "text/css; charset=utf-8", body: include_str!("../../assets/app.css") },
    Asset { name: "icon.svg", content_type: "image/svg+xml", body: include_str!("../../assets/icon.svg") },
    Asset { name: "session.js", content_type: JAVASCRIPT, body: include_str!("../../assets/session.js") },
    Asset { name: "book.js", content_type: JAVASCRIPT, body: include_str!("../../assets/book.js") },
    Asset { name: "auth.js", content_type: JAVASCRIPT, body: include_str!("../../assets/auth.js") },
    Asset { name: "home.js", content_type: JAVASCRIPT, body: include_str!("../../assets/home.js") },
    Asset { name: "profile.js", content_type: JAVASCRIPT, body: include_str!("../../assets/profile.js") },
    Asset { name: "author.js", content_type: JAVASCRIPT, body: include_str!("../../assets/author.js") },
    Asset { name: "search.js", content_type: JAVASCRIPT, body: include_str!("../../assets/search.js") },
    Asset { name: "settings.js", content_type: JAVASCRIPT, body: include_str!("../../assets/settings.js") },
    Asset { name: "import.js", content_type: JAVASCRIPT, body: include_str!("../../assets/import.js") },
    // graphql-ws's browser build (UMD, `window.graphqlWs`), vendored: see `vendor/README.md`.
    Asset {
        name: GRAPHQL_WS,
        content_type: JAVASCRIPT,
        body: include_str!("../../assets/vendor/graphql-ws-6.4.2.min.js"),
    },
];

/// The vendored graphql-ws file's name, with its version.
const GRAPHQL_WS: &str = "graphql-ws-6.4.2.min.js";

/// An asset's address with its hash, by its name.
fn versioned(name: &str) -> &'static str {
    ASSETS.iter().position(|asset| asset.name == name).map_or("", |index| ADDRESSES[index].as_str())
}

/// An ES module's address, by its name: bare, without its hash, as the modules import each
/// other (`./session.js`), so a page and its modules share one instance of each (and one
/// session); the browser checks it again by its `ETag` on each load.
pub(crate) fn module(name: &str) -> &'static str {
    ASSETS.iter().position(|asset| asset.name == name).map_or("", |index| BARE[index].as_str())
}

/// Each asset's address without its hash.
static BARE: LazyLock<Vec<String>> =
    LazyLock::new(|| ASSETS.iter().map(|asset| format!("/assets/{}", asset.name)).collect());

/// The vendored graphql-ws client's address.
pub(crate) fn graphql_ws() -> &'static str {
    versioned(GRAPHQL_WS)
}

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

/// `GET /assets/{name}`: kept for good when asked by its current address; otherwise (a module
/// imported by its bare name) checked again each time, by its hash as its `ETag`.
pub(crate) async fn serve(Path(name): Path<String>, Query(version): Query<Version>, headers: HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|asset| asset.name == name) else {
        return super::PageError::not_found("There is no such asset.").into_response();
    };
    let asset = &ASSETS[index];
    let hash = ADDRESSES[index].rsplit("?v=").next().unwrap_or_default();
    let etag = format!("\"{hash}\"");
    let current = version.v.as_deref() == Some(hash);
    let cache = if current { "public, max-age=31536000, immutable" } else { "no-cache" };
    let validators = [
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (header::ETAG, HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static(""))),
    ];
    if headers.get(header::IF_NONE_MATCH).and_then(|tag| tag.to_str().ok()) == Some(etag.as_str()) {
        return (StatusCode::NOT_MODIFIED, validators).into_response();
    }
    let content_type = [(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type))];
    (StatusCode::OK, content_type, validators, asset.body).into_response()
}

#[cfg(test)]
mod tests {
    use sha2::Digest as _;

    use super::*;

    /// The vendored graphql-ws is the file npm's registry serves in graphql-ws 6.4.2's package
    /// (`umd/graphql-ws.min.js`), unchanged.
    #[test]
    fn the_vendored_graphql_ws_is_the_pinned_release() {
        let vendored = ASSETS.iter().find(|asset| asset.name == GRAPHQL_WS).map(|asset| asset.body).unwrap_or_default();
        let digest = sha2::Sha256::digest(vendored.as_bytes());
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(hex, "5f1e250bdea0a551d58272048281dbf5b2fb69faa120160bab49485c72b6f24d");
    }

    #[test]
    fn every_asset_has_its_own_address_with_its_hash() {
        for (asset, address) in ASSETS.iter().zip(ADDRESSES.iter()) {
            assert!(address.starts_with(&format!("/assets/{}?v=", asset.name)), "{address}");
        }
        assert_eq!(versioned("book.js"), ADDRESSES[3]);
        assert_eq!(versioned("no-such.js"), "");
        for asset in ASSETS.iter().filter(|asset| asset.name.ends_with(".js") && asset.name != GRAPHQL_WS) {
            assert_eq!(module(asset.name), format!("/assets/{}", asset.name));
        }
    }
}
