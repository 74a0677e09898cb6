//! `GET /books/{id}`: the book page. Cover, title, authors, description and details, the rating
//! summary with its histogram, the shelf counts, and the community reviews (ordered, filtered by
//! stars, paged by `after`; spoilers folded in `<details>` until the reader opens them), with
//! Open Graph tags and schema.org `Book` data so a shared link previews and crawlers index it.

use std::{net::SocketAddr, sync::Arc};

use askama::Template;
use axum::{
    extract::{ConnectInfo, Path, Query, State},
    http::HeaderMap,
    response::Response,
};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use super::{admit, long_date, percent_encode, query, respond, Count, Layout, PageError, Picture, Share};
use crate::{AppState, Shared};

/// How many reviews a page of them shows.
pub const REVIEWS_PER_PAGE: i32 = 20;

/// The book page's query: what `GET /books/{id}` runs in-process (`make bench` sends the same
/// one over HTTP beside it).
pub const BOOK_PAGE: &str =
    "query BookPage($id: ID!, $first: Int!, $after: String, $order: ReviewOrder!, $stars: Int) {
  book(id: $id) {
    id url title subtitle description pages format firstPublished editionsCount cover { url }
    authors { id url name booksCount followersCount }
    ratings { count average reviewCount histogram { stars count percent } }
    shelfCounts { currentlyReading wantToRead }
    series { numberLabel series { name } }
    genres(first: 8) { label percent }
    moods(first: 5) { label percent }
    paces { label percent }
    contentWarnings(first: 8) { label }
    readersAlsoEnjoyed(first: 6) { book { url title authors { name } } }
    lists(first: 3) { title votesCount booksCount }
    reviews(first: $first, after: $after, orderBy: $order, stars: $stars) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { node {
        id stars reviewerShelf writtenOn containsSpoilers body(revealSpoilers: true) likesCount commentsCount position
        reviewer {
          url handle displayName reviewsCount followersCount avatar { url(size: SMALL) }
          authorProfile { booksCount followersCount }
        }
        comments(first: 5) { nodes { body commentedAt commenter { url displayName } } }
      } }
    }
  }
}";

/// The page's choices, from its address: the reviews' order, star filter and page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Choices {
    order: Option<String>,
    stars: Option<String>,
    after: Option<String>,
}

/// The orders a reader can pick, as the API names them and as the page says them.
const ORDERS: [(&str, &str); 5] = [
    ("NEWEST", "Newest first"),
    ("OLDEST", "Oldest first"),
    ("MOST_LIKED", "Most liked"),
    ("HIGHEST_RATED", "Highest rated"),
    ("LOWEST_RATED", "Lowest rated"),
];

pub(crate) async fn page(
    State((schemas, app)): State<Shared>,
    peer: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(choices): Query<Choices>,
) -> Response {
    respond(book_page(&schemas, &app, peer, &headers, &id, choices).await)
}

async fn book_page(
    schemas: &crate::graphql::Schemas,
    app: &Arc<AppState>,
    peer: ConnectInfo<SocketAddr>,
    headers: &HeaderMap,
    id: &str,
    choices: Choices,
) -> Result<BookPage, PageError> {
    let client = admit(app, peer, headers)?;
    // An address that is not a book's id is a page that does not exist.
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(PageError::not_found("There is no book with this id."));
    }
    let order = match choices.order.as_deref().filter(|order| !order.is_empty()) {
        None => "NEWEST",
        Some(order) => ORDERS.iter().map(|(name, _)| *name).find(|name| *name == order).ok_or_else(|| {
            PageError::from(crate::error::ApiError::invalid("order", "order is not one of the reviews' orders"))
        })?,
    };
    let stars = match choices.stars.as_deref().filter(|stars| !stars.is_empty()) {
        None => None,
        Some(stars) => Some(stars.parse::<i32>().ok().filter(|stars| (1..=5).contains(stars)).ok_or_else(|| {
            PageError::from(crate::error::ApiError::invalid("stars", "stars is a whole number from 1 to 5"))
        })?),
    };
    let variables =
        json!({ "id": id, "first": REVIEWS_PER_PAGE, "after": choices.after, "order": order, "stars": stars });
    let data: Data = query(schemas, client, BOOK_PAGE, variables).await?;
    let book = data.book.ok_or_else(|| PageError::not_found("There is no book with this id."))?;
    Ok(BookPage::new(book, order, stars, choices.after))
}

#[derive(Deserialize)]
struct Data {
    book: Option<Book>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Book {
    id: String,
    url: String,
    title: String,
    subtitle: String,
    description: String,
    pages: i32,
    format: String,
    first_published: Option<NaiveDate>,
    editions_count: i32,
    cover: Option<Picture>,
    authors: Vec<BookAuthor>,
    ratings: Ratings,
    shelf_counts: ShelfCounts,
    series: Vec<InSeries>,
    genres: Vec<Tag>,
    moods: Vec<Tag>,
    paces: Vec<Tag>,
    content_warnings: Vec<Warning>,
    readers_also_enjoyed: Vec<AlsoEnjoyed>,
    lists: Vec<OnList>,
    reviews: Reviews,
}

/// A list the book is on.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OnList {
    title: String,
    votes_count: Count,
    books_count: Count,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InSeries {
    number_label: Option<String>,
    series: Option<SeriesName>,
}

#[derive(Deserialize)]
struct SeriesName {
    name: String,
}

/// A word readers say of the book, with its share.
#[derive(Deserialize)]
struct Tag {
    label: String,
    percent: i32,
}

#[derive(Deserialize)]
struct Warning {
    label: String,
}

#[derive(Deserialize)]
struct AlsoEnjoyed {
    book: LikeBook,
}

#[derive(Deserialize)]
struct LikeBook {
    url: String,
    title: String,
    authors: Vec<LikeAuthor>,
}

#[derive(Deserialize)]
struct LikeAuthor {
    name: String,
}

impl LikeBook {
    fn byline(&self) -> String {
        self.authors.iter().map(|author| author.name.as_str()).collect::<Vec<_>>().join(", ")
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BookAuthor {
    id: String,
    url: String,
    name: String,
    books_count: Count,
    followers_count: Count,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ratings {
    count: Count,
    average: f64,
    review_count: Count,
    histogram: Vec<Bucket>,
}

#[derive(Deserialize)]
struct Bucket {
    stars: i32,
    count: Count,
    percent: i32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShelfCounts {
    currently_reading: Count,
    want_to_read: Count,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reviews {
    total_count: Count,
    page_info: PageInfo,
    edges: Vec<Edge>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

#[derive(Deserialize)]
struct Edge {
    node: Review,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Review {
    id: String,
    stars: Option<i32>,
    reviewer_shelf: Option<String>,
    written_on: NaiveDate,
    contains_spoilers: bool,
    body: Option<String>,
    likes_count: Count,
    comments_count: Count,
    position: u64,
    reviewer: Option<Reviewer>,
    comments: Comments,
}

#[derive(Deserialize)]
struct Comments {
    nodes: Vec<Comment>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Comment {
    body: String,
    commented_at: chrono::DateTime<chrono::Utc>,
    commenter: Option<Commenter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Commenter {
    url: String,
    display_name: String,
}

impl Comment {
    fn when(&self) -> String {
        long_date(self.commented_at.date_naive())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reviewer {
    url: String,
    handle: String,
    display_name: String,
    reviews_count: Count,
    followers_count: Count,
    avatar: Option<Picture>,
    author_profile: Option<AuthorBadge>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorBadge {
    books_count: Count,
    followers_count: Count,
}

/// The book page as its template reads it.
#[derive(Template)]
#[template(path = "book.html")]
struct BookPage {
    layout: Layout,
    book: Book,
    /// schema.org `Book` data, as JSON safe inside `<script>` (no `<`, `>` or `&`).
    structured_data: String,
    order: &'static str,
    stars: Option<i32>,
    /// Where this page of reviews starts, when it is a later one (the first is linked back to).
    after: Option<String>,
    /// The next page of reviews, if there is one.
    next_page: Option<String>,
}

impl BookPage {
    fn new(book: Book, order: &'static str, stars: Option<i32>, after: Option<String>) -> Self {
        let authors = book.authors.iter().map(|author| author.name.as_str()).collect::<Vec<_>>().join(", ");
        // Open Graph's description: the book's own, or its title and authors.
        let summary = if book.description.is_empty() {
            format!("{} by {authors}", full_title(&book))
        } else {
            book.description.chars().take(300).collect()
        };
        let next_page =
            book.reviews.page_info.end_cursor.as_ref().filter(|_| book.reviews.page_info.has_next_page).map(|cursor| {
                let mut address = format!("/books/{}?order={order}", book.id);
                if let Some(stars) = stars {
                    address.push_str(&format!("&stars={stars}"));
                }
                address.push_str("&after=");
                address.push_str(&percent_encode(cursor));
                address.push_str("#reviews");
                address
            });
        let share = Share {
            kind: "book",
            title: full_title(&book),
            url: book.url.clone(),
            description: Some(summary),
            image: book.cover.as_ref().map(|cover| cover.url.clone()),
        };
        BookPage {
            layout: Layout::shared(full_title(&book), share),
            structured_data: structured_data(&book),
            book,
            order,
            stars,
            after,
            next_page,
        }
    }

    fn orders(&self) -> &'static [(&'static str, &'static str)] {
        &ORDERS
    }

    fn first_published(&self) -> Option<String> {
        self.book.first_published.map(long_date)
    }

    fn reviews(&self) -> impl Iterator<Item = &Review> {
        self.book.reviews.edges.iter().map(|edge| &edge.node)
    }

    /// Where live reviews start from: after the newest the page shows.
    fn reviews_since(&self) -> u64 {
        self.reviews().map(|review| review.position).max().unwrap_or(0)
    }

    /// Whether new reviews are added to this page as they come: its first page, newest first,
    /// unfiltered.
    fn live_reviews(&self) -> bool {
        self.order == "NEWEST" && self.stars.is_none() && self.after.is_none()
    }

    fn average(&self) -> String {
        format!("{:.2}", self.book.ratings.average)
    }

    /// "Book 2.5 of The Stormlight Archive", or "Part of Discworld" when unnumbered.
    fn series_lines(&self) -> Vec<String> {
        self.book
            .series
            .iter()
            .filter_map(|entry| {
                let name = &entry.series.as_ref()?.name;
                Some(match &entry.number_label {
                    Some(number) => format!("Book {number} of {name}"),
                    None => format!("Part of {name}"),
                })
            })
            .collect()
    }

    /// Moods and paces as one line each: "Dark 67% · Reflective 33%".
    fn shares(tags: &[Tag]) -> String {
        tags.iter().map(|tag| format!("{} {}%", tag.label, tag.percent)).collect::<Vec<_>>().join(" · ")
    }

    fn moods(&self) -> String {
        Self::shares(&self.book.moods)
    }

    fn paces(&self) -> String {
        Self::shares(&self.book.paces)
    }

    fn warnings(&self) -> String {
        self.book.content_warnings.iter().map(|warning| warning.label.as_str()).collect::<Vec<_>>().join(", ")
    }
}

impl Review {
    fn written(&self) -> String {
        long_date(self.written_on)
    }

    /// What the page shows where the stars would be, for a reviewer who did not rate it.
    fn shelf_name(&self) -> Option<&'static str> {
        Some(match self.reviewer_shelf.as_deref()? {
            "READ" => "Read",
            "CURRENTLY_READING" => "Currently reading",
            "WANT_TO_READ" => "Want to read",
            "PAUSED" => "Paused",
            "DID_NOT_FINISH" => "Did not finish",
            _ => return None,
        })
    }
}

fn full_title(book: &Book) -> String {
    if book.subtitle.is_empty() {
        book.title.clone()
    } else {
        format!("{}: {}", book.title, book.subtitle)
    }
}

/// The book as schema.org describes one, with its aggregate rating once someone rated it.
fn structured_data(book: &Book) -> String {
    let mut data = json!({
        "@context": "https://schema.org",
        "@type": "Book",
        "name": full_title(book),
        "url": book.url,
        "author": book.authors.iter().map(|author| json!({ "@type": "Person", "name": author.name, "url": author.url })).collect::<Vec<_>>(),
    });
    if book.pages > 0 {
        data["numberOfPages"] = book.pages.into();
    }
    if let Some(published) = book.first_published {
        data["datePublished"] = published.to_string().into();
    }
    if !book.description.is_empty() {
        data["description"] = book.description.clone().into();
    }
    if book.ratings.count.0 > 0 {
        data["aggregateRating"] = json!({
            "@type": "AggregateRating",
            "ratingValue": book.ratings.average,
            "ratingCount": book.ratings.count.0,
            "reviewCount": book.ratings.review_count.0,
            "bestRating": 5,
            "worstRating": 1,
        });
    }
    script_safe_json(&data)
}

/// JSON that cannot end the `<script>` element it sits in, nor start markup: `<`, `>` and `&`
/// (which only ever appear inside JSON strings) written as `\u` escapes.
fn script_safe_json(value: &serde_json::Value) -> String {
    value.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_data_cannot_close_its_script_element() {
        let value = json!({ "name": "</script><script>alert(1)</script> & <!--" });
        let safe = script_safe_json(&value);
        assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('&'), "{safe}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&safe).unwrap(), value);
    }
}
