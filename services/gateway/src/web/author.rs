//! `GET /authors/{id}`: an author's page. Their name and bio, their reader account if a
//! librarian linked one, their books with their ratings, and their followers; following them is
//! the script's (`author.js`), for a signed-in viewer.

use std::net::SocketAddr;

use askama::Template;
use axum::{
    extract::{ConnectInfo, Path, State},
    http::HeaderMap,
    response::Response,
};
use serde::Deserialize;
use serde_json::json;

use super::{admit, query, respond, Count, Layout, PageError, Picture, Share};
use crate::Shared;

const AUTHOR: &str = "query AuthorPage($id: ID!) {
  author(id: $id) {
    id url name bio booksCount followersCount photo { url }
    reader { url displayName }
    books(first: 100) { nodes { url title subtitle firstPublished ratings { count average } } }
  }
}";

#[derive(Deserialize)]
struct Data {
    author: Option<Author>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Author {
    id: String,
    url: String,
    name: String,
    bio: String,
    books_count: Count,
    followers_count: Count,
    photo: Option<Picture>,
    reader: Option<Account>,
    books: Books,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Account {
    url: String,
    display_name: String,
}

#[derive(Deserialize)]
struct Books {
    nodes: Vec<Book>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Book {
    url: String,
    title: String,
    subtitle: String,
    first_published: Option<chrono::NaiveDate>,
    ratings: Ratings,
}

#[derive(Deserialize)]
struct Ratings {
    count: Count,
    average: f64,
}

impl Book {
    fn year(&self) -> String {
        self.first_published.map(|date| date.format("%Y").to_string()).unwrap_or_default()
    }

    fn average(&self) -> String {
        format!("{:.2}", self.ratings.average)
    }
}

#[derive(Template)]
#[template(path = "author.html")]
struct AuthorPage {
    layout: Layout,
    author: Author,
}

pub(crate) async fn page(
    State((schemas, app)): State<Shared>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let author = async {
        let client = admit(&app, peer, &headers)?;
        let missing = || PageError::not_found("There is no author with this id.");
        if uuid::Uuid::parse_str(&id).is_err() {
            return Err(missing());
        }
        let data: Data = query(&schemas, client, AUTHOR, json!({ "id": id })).await?;
        let author = data.author.ok_or_else(missing)?;
        let share = Share {
            kind: "profile",
            title: author.name.clone(),
            url: author.url.clone(),
            description: None,
            image: author.photo.as_ref().map(|photo| photo.url.clone()),
        };
        Ok(AuthorPage { layout: Layout::shared(author.name.clone(), share), author })
    };
    respond(author.await)
}
