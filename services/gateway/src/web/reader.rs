//! `GET /readers/{handle}`: a reader's profile. Their name, bio and counts, their author badge,
//! their latest reviews, and, when they share their reading with everyone, what they are reading
//! (with progress), have read and want to read, and their own shelves. Following and blocking
//! them is the script's (`profile.js`), for a signed-in viewer.

use std::net::SocketAddr;

use askama::Template;
use axum::{
    extract::{ConnectInfo, Path, State},
    http::HeaderMap,
    response::Response,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{admit, long_date, query, respond, Count, Layout, PageError, Picture, Share};
use crate::Shared;

const PROFILE: &str = "query ReaderPage($handle: String!) {
  reader(handle: $handle) {
    id url handle displayName bio joinedAt readingVisibility followersCount followingCount reviewsCount
    avatar { url }
    authorProfile { url name booksCount }
    reviews(first: 10) { nodes {
      id stars writtenOn containsSpoilers body(revealSpoilers: true) book { url title }
    } }
  }
}";

/// Asked only of a reader who shares their reading with everyone: a signed-out page may show it.
const READING: &str = "query ReaderReading($handle: String!) {
  reader(handle: $handle) {
    current: shelf(status: CURRENTLY_READING, first: 20) { totalCount nodes { ...entry progress { page percent } } }
    read: shelf(status: READ, first: 20) { totalCount nodes { ...entry } }
    wanted: shelf(status: WANT_TO_READ, first: 20) { totalCount nodes { ...entry } }
    shelves { name count }
  }
}
fragment entry on ShelfEntry { book { url title pages authors { name } } }";

#[derive(Deserialize)]
struct ProfileData {
    reader: Option<Profile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    id: String,
    url: String,
    handle: String,
    display_name: String,
    bio: String,
    joined_at: DateTime<Utc>,
    reading_visibility: String,
    followers_count: Count,
    following_count: Count,
    reviews_count: Count,
    avatar: Option<Picture>,
    author_profile: Option<AuthorBadge>,
    reviews: Nodes<ReaderReview>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorBadge {
    url: String,
    name: String,
    books_count: Count,
}

#[derive(Deserialize)]
struct Nodes<T> {
    nodes: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReaderReview {
    id: String,
    stars: Option<i32>,
    written_on: NaiveDate,
    contains_spoilers: bool,
    body: Option<String>,
    book: Option<BookLink>,
}

#[derive(Deserialize)]
struct BookLink {
    url: String,
    title: String,
}

#[derive(Deserialize)]
struct ReadingData {
    reader: Option<Reading>,
}

#[derive(Deserialize)]
struct Reading {
    current: Shelf,
    read: Shelf,
    wanted: Shelf,
    shelves: Vec<CustomShelf>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Shelf {
    total_count: Count,
    nodes: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    book: Option<ShelvedBook>,
    progress: Option<Progress>,
}

#[derive(Deserialize)]
struct ShelvedBook {
    url: String,
    title: String,
    pages: i32,
    authors: Vec<Name>,
}

#[derive(Deserialize)]
struct Name {
    name: String,
}

#[derive(Deserialize)]
struct Progress {
    page: Option<i32>,
    percent: Option<i32>,
}

#[derive(Deserialize)]
struct CustomShelf {
    name: String,
    count: Count,
}

impl Reading {
    /// The finished and wanted shelves, each with its heading's id and title.
    fn lists(&self) -> Vec<(&'static str, &'static str, &Shelf)> {
        vec![("read-title", "Read", &self.read), ("wanted-title", "Want to read", &self.wanted)]
    }
}

impl ShelvedBook {
    fn byline(&self) -> String {
        self.authors.iter().map(|author| author.name.as_str()).collect::<Vec<_>>().join(", ")
    }
}

impl Entry {
    /// How far into the book, as a percent for a progress bar, and in words.
    fn progress(&self) -> Option<(i32, String)> {
        let progress = self.progress.as_ref()?;
        let pages = self.book.as_ref().map_or(0, |book| book.pages);
        match (progress.percent, progress.page) {
            (Some(percent), _) => Some((percent.clamp(0, 100), format!("{percent}%"))),
            (None, Some(page)) if pages > 0 => {
                Some(((page * 100 / pages).clamp(0, 100), format!("page {page} of {pages}")))
            }
            (None, Some(page)) => Some((0, format!("page {page}"))),
            (None, None) => None,
        }
    }
}

impl ReaderReview {
    fn written(&self) -> String {
        long_date(self.written_on)
    }
}

#[derive(Template)]
#[template(path = "reader.html")]
struct ReaderPage {
    layout: Layout,
    reader: Profile,
    /// What they read, when they share it with everyone.
    reading: Option<Reading>,
}

impl ReaderPage {
    fn joined(&self) -> String {
        self.reader.joined_at.format("%B %Y").to_string()
    }

    /// Who sees their reading, when the page may not show it.
    fn sharing(&self) -> &'static str {
        match self.reader.reading_visibility.as_str() {
            "FOLLOWERS" => "the readers who follow them",
            _ => "no one else",
        }
    }
}

pub(crate) async fn page(
    State((schemas, app)): State<Shared>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(handle): Path<String>,
) -> Response {
    let profile = async {
        let client = admit(&app, peer, &headers)?;
        let missing = || PageError::not_found("There is no reader with this handle.");
        if handle.is_empty() || handle.len() > 64 {
            return Err(missing());
        }
        let data: ProfileData = query(&schemas, client, PROFILE, json!({ "handle": handle })).await?;
        let reader = data.reader.ok_or_else(missing)?;
        let reading = if reader.reading_visibility == "EVERYONE" {
            let data: ReadingData = query(&schemas, client, READING, json!({ "handle": handle })).await?;
            data.reader
        } else {
            None
        };
        let title = format!("{} (@{})", reader.display_name, reader.handle);
        let share = Share {
            kind: "profile",
            title: title.clone(),
            url: reader.url.clone(),
            description: Some(format!("{} on readstream", reader.display_name)),
            image: reader.avatar.as_ref().map(|avatar| avatar.url.clone()),
        };
        let layout = Layout::shared(title, share);
        Ok(ReaderPage { layout, reader, reading })
    };
    respond(profile.await)
}
