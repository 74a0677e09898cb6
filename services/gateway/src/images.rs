//! Uploaded pictures in the gateway: decoded and re-encoded by `readstream-pictures` on the
//! blocking pool, half the cores at a time, so uploads never hold up the gateway's other requests;
//! stored under the SHA-256 of the larger rendition and served with immutable caching (an id's
//! bytes never change).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    extract::{ConnectInfo, Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use readstream_contracts::{Code, ImageId};
use readstream_pictures::{render, Purpose, Refused};
use readstream_readmodel::images::{self, NewImage, Size};
use tokio::sync::Semaphore;

use crate::{error::ApiError, Shared};

/// How long an upload waits for a decoder before it is refused as `UNAVAILABLE`.
const DECODE_WAIT: Duration = Duration::from_secs(10);

impl From<Refused> for ApiError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::TooLarge | Refused::TooManyPixels(..) | Refused::TooLargeToDecode => {
                ApiError { field: Some("file".into()), ..ApiError::limit_exceeded(refused.to_string()) }
            }
            Refused::Empty | Refused::UnsupportedFormat | Refused::Undecodable(_) => {
                ApiError::invalid("file", refused.to_string())
            }
        }
    }
}

/// The uploads being decoded now, bounded.
#[derive(Clone)]
pub struct Decoders(Arc<Semaphore>);

impl Default for Decoders {
    /// Half the machine's cores decode at once (at least one), so uploads leave the other half
    /// to every other request.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self(Arc::new(Semaphore::new((cores / 2).max(1))))
    }
}

impl Decoders {
    /// Renders `upload` on the blocking pool once a decoder is free (waiting at most
    /// `DECODE_WAIT`), and stores it: the image's id.
    pub async fn process(&self, pool: &sqlx::PgPool, upload: Vec<u8>, purpose: Purpose) -> Result<ImageId, ApiError> {
        let permit = tokio::time::timeout(DECODE_WAIT, self.0.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::new(Code::Unavailable, "too many pictures are being uploaded now; try again"))?
            .map_err(ApiError::unavailable)?;
        let rendered = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            render(&upload, purpose)
        })
        .await
        .map_err(ApiError::internal)??;
        let image = NewImage {
            image_id: rendered.image_id.to_string(),
            width: rendered.width,
            height: rendered.height,
            large: rendered.large,
            small: rendered.small,
        };
        images::store(pool, &image).await.map_err(ApiError::from)?;
        Ok(rendered.image_id)
    }
}

/// Where a rendition of `image_id` is served, under the gateway's public address.
pub fn url(public_url: &str, image_id: &str, size: Size) -> String {
    let size = match size {
        Size::Small => "small",
        Size::Large => "large",
    };
    format!("{public_url}/images/{image_id}/{size}")
}

/// One rendition, cached for good (its id is its content). Anything but a stored image's id
/// and `small` or `large` is 404. Each request counts against its client's rate, as a page
/// does: a picture is read from Postgres.
pub(crate) async fn serve(
    State((_, app)): State<Shared>,
    peer: ConnectInfo<SocketAddr>,
    Path((image_id, size)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = crate::web::admit(&app, peer, &headers) {
        return refused.into_response();
    }
    let size = match size.as_str() {
        "small" => Size::Small,
        "large" => Size::Large,
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let Some(image_id) = ImageId::parse(&image_id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{image_id}-{}\"", if size == Size::Large { "l" } else { "s" });
    let cached = [
        (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")),
        (header::ETAG, HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""))),
    ];
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains(&etag)) {
        return (StatusCode::NOT_MODIFIED, cached).into_response();
    }
    match images::rendition(&app.pool, image_id.as_str(), size).await {
        Ok(Some(bytes)) => {
            (cached, [(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"))], bytes).into_response()
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "reading an image failed");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}
