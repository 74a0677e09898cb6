//! `GET /`: home. Everyone sees books of the catalog; a signed-in reader's script adds what the
//! readers they follow did (their feed), newest first and live.

use std::net::SocketAddr;

use askama::Template;
use axum::{
    extract::{ConnectInfo, State},
    http::HeaderMap,
    response::Response,
};
use serde::Deserialize;
use serde_json::json;

use super::{admit, query, respond, Layout};
use crate::Shared;

const HOME: &str =
    "query Home { books(first: 12) { nodes { url title subtitle authors { name } ratings { count average } } } }";

#[derive(Deserialize)]
struct Data {
    books: Books,
}

#[derive(Deserialize)]
struct Books {
    nodes: Vec<Book>,
}

#[derive(Deserialize)]
struct Book {
    url: String,
    title: String,
    subtitle: String,
    authors: Vec<Author>,
    ratings: Ratings,
}

#[derive(Deserialize)]
struct Author {
    name: String,
}

#[derive(Deserialize)]
struct Ratings {
    count: i64,
    average: f64,
}

impl Book {
    fn byline(&self) -> String {
        self.authors.iter().map(|author| author.name.as_str()).collect::<Vec<_>>().join(", ")
    }

    fn rating(&self) -> String {
        match self.ratings.count {
            0 => "No ratings yet".to_owned(),
            1 => format!("{:.2} from 1 rating", self.ratings.average),
            count => format!("{:.2} from {count} ratings", self.ratings.average),
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    books: Vec<Book>,
}

pub(crate) async fn page(
    State((schemas, app)): State<Shared>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let home = async {
        let client = admit(&app, peer, &headers)?;
        let data: Data = query(&schemas, client, HOME, json!({})).await?;
        Ok::<_, super::PageError>(HomePage { layout: Layout::new("Home"), books: data.books.nodes })
    };
    respond(home.await)
}
