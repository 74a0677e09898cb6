//! Subscriptions whose pushes are the same for everyone who asks alike run once per distinct
//! request, not once per subscriber: the WebSockets that send the same document with the same
//! variables share one execution, and each update is executed and serialised once, then handed
//! to every one of them as the same text. A socket adds only its frame around it
//! (`{"type":"next","id":…,"payload":…}`).
//!
//! - `SharedExecutions`: the running executions by request, each one task that executes the
//!   subscription anonymously and posts each serialised response to its members.
//! - `SocketPushes`: one WebSocket's shared subscriptions, by the id its client gave them; the
//!   socket's reader hands it the `subscribe` and `complete` messages of shared requests.
//!
//! Which subscriptions are shared, and by whom, is `SHARED_FIELDS`:
//! - A book's figures (`bookRatingsChanged`, `bookShelfCountsChanged`): public, with no field
//!   anywhere below them that reads the viewer (a test walks the schema to hold that), so
//!   signed-in and anonymous subscribers share them. Each push is how things are now: a member
//!   joining a running execution first gets its latest response.
//! - A book's new reviews (`bookReviewAdded`): shared by anonymous subscribers only, since a
//!   signed-in one sees no review across a block and the review's fields may read the viewer.
//!   Each push is one new review. A member joining a running execution first gets every review
//!   it pushed when the request has a `since` (the web app's book page sends the newest review it
//!   shows, the same for everyone who loaded the page between two reviews): what it would have
//!   got had it subscribed as the execution started. Without `since`, it gets the reviews from
//!   then on, as a subscription of its own would. Once an execution pushed `JOINERS_CATCH_UP`
//!   items, a new subscriber starts an execution of its own instead. The replay after `since`
//!   is posted at once, so members' mailboxes keep a whole replay more than any other's.
//!
//! A member that reads too slowly is told it fell behind and ends, as any subscription does;
//! the others are not held back. An execution ends when its last member leaves, or when its
//! subscription ends (an error): its members then get that response and `complete`, and the
//! next subscriber starts anew. Every other subscription, and every signed-in one of reviews,
//! runs per subscriber as before.

use std::{
    collections::{HashMap, VecDeque},
    convert::Infallible,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError},
    task::{Context, Poll},
};

use async_graphql::{
    http::WebSocketProtocols,
    parser::types::{ExecutableDocument, OperationDefinition, OperationType, Selection},
    Name, Request, Response, Value,
};
use futures::{
    channel::mpsc,
    future::BoxFuture,
    stream::{BoxStream, FuturesUnordered},
    FutureExt as _, Stream, StreamExt as _,
};
use readstream_runtime::live::{mailbox_keeping, Lagged, Mailbox, Post, KEPT_UPDATES};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;

use crate::{
    auth::Viewer,
    error::ApiError,
    graphql::{code_errors, request_error, Schemas},
    limits::ClientAddress,
    subscriptions::{self, Counted, InFlight, Places},
};

/// The subscription fields executed once for all who ask alike.
pub const SHARED_FIELDS: [SharedField; 3] = [
    SharedField { name: "bookRatingsChanged", signed_in: true, pushes: Pushes::Figures },
    SharedField { name: "bookShelfCountsChanged", signed_in: true, pushes: Pushes::Figures },
    SharedField { name: "bookReviewAdded", signed_in: false, pushes: Pushes::Items },
];

/// A subscription field whose subscribers share its executions.
pub struct SharedField {
    pub name: &'static str,
    /// Whether signed-in subscribers share it too: only a field whose whole result is public,
    /// with nothing below it that reads the viewer.
    pub signed_in: bool,
    pub pushes: Pushes,
}

/// What each push of a shared field is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Pushes {
    /// How things are now, whole: the latest push is all a member needs.
    Figures,
    /// One new item, replayed after the field's `since` when it has one.
    Items,
}

/// What a member that joins a running execution gets first.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CatchUp {
    /// Its latest push: how things are now.
    Latest,
    /// Every push so far, up to `JOINERS_CATCH_UP`: the items after the request's `since`.
    Everything,
    /// Nothing: it asked for new items from now on.
    Nothing,
}

/// The most pushes an execution of items keeps for the members that join it. Past them a new
/// subscriber starts an execution of its own, as one whose client was away longer reads its
/// own replay. Half a mailbox, so a member that joins has room for the pushes after them.
const JOINERS_CATCH_UP: usize = KEPT_UPDATES / 2;

/// Whether `request`'s operation is a subscription of one shared field, for a subscriber who is
/// `signed_in` or not, and if so what a member joining a running execution of it gets first.
pub fn sharing(document: &ExecutableDocument, request: &Request, signed_in: bool) -> Option<CatchUp> {
    let operation = crate::shape::operation(document, request.operation_name.as_deref())?;
    if operation.node.ty != OperationType::Subscription {
        return None;
    }
    let [selection] = operation.node.selection_set.node.items.as_slice() else { return None };
    let Selection::Field(field) = &selection.node else { return None };
    let shared = SHARED_FIELDS.iter().find(|shared| shared.name == field.node.name.node.as_str())?;
    if signed_in && !shared.signed_in {
        return None;
    }
    Some(match shared.pushes {
        Pushes::Figures => CatchUp::Latest,
        Pushes::Items => {
            let variable = |name: Name| Ok::<_, Infallible>(variable(&name, &operation.node, request));
            match field.node.get_argument("since").map(|since| since.node.clone().into_const_with(variable)) {
                Some(Ok(since)) if since != Value::Null => CatchUp::Everything,
                _ => CatchUp::Nothing,
            }
        }
    })
}

/// The value of the variable `name` in `request`: as sent, else the operation's default for
/// it, else null.
fn variable(name: &Name, operation: &OperationDefinition, request: &Request) -> Value {
    request.variables.get(name).cloned().unwrap_or_else(|| {
        let definition = operation.variable_definitions.iter().find(|definition| definition.node.name.node == *name);
        definition
            .and_then(|definition| definition.node.default_value.as_ref())
            .map_or(Value::Null, |default| default.node.clone())
    })
}

/// The request a shared execution answers: subscribers alike in all of it share it. The
/// extensions are in it for `minPosition`: an execution that waited for a position answers
/// only those who asked for that one, so each gets a first response that includes it.
#[derive(PartialEq, Eq, Hash)]
struct Key {
    query: String,
    operation_name: Option<String>,
    /// The variables and the extensions, as JSON.
    variables: String,
    extensions: String,
}

impl Key {
    fn of(request: &Request) -> Self {
        Key {
            query: request.query.clone(),
            operation_name: request.operation_name.clone(),
            variables: serde_json::to_string(&request.variables).unwrap_or_default(),
            extensions: serde_json::to_string(&request.extensions).unwrap_or_default(),
        }
    }
}

/// What an execution posts to its members: a response, serialised, or its end.
#[derive(Clone)]
enum Pushed {
    Next(Arc<str>),
    End,
}

/// The running shared executions, by request.
#[derive(Clone)]
pub struct SharedExecutions {
    running: Arc<Mutex<HashMap<Arc<Key>, Arc<Execution>>>>,
    /// The most items a subscription replays after its `since` (`MAX_REPLAY_ITEMS`). An
    /// execution of items posts its replay to its first members at once, before they can read
    /// any: their mailboxes keep that many more, so a replay never counts as falling behind.
    replayed_at_most: usize,
}

struct Execution {
    key: Arc<Key>,
    catch_up: CatchUp,
    members: Mutex<Members>,
    /// Cancelled when the last member leaves: the execution stops.
    left: CancellationToken,
}

#[derive(Default)]
struct Members {
    posts: HashMap<u64, Post<Pushed>>,
    next_id: u64,
    /// What a member that joins gets first (`CatchUp`).
    pushed: Vec<Arc<str>>,
    /// Set once an execution of items pushed more than it keeps for those who join: it takes
    /// no new members.
    closed: bool,
}

impl Members {
    /// Keeps `payload`, just pushed, for the members who join later, as `catch_up` says.
    fn keep(&mut self, catch_up: CatchUp, payload: Arc<str>) {
        match catch_up {
            CatchUp::Latest => self.pushed = vec![payload],
            CatchUp::Everything if self.closed => {}
            CatchUp::Everything if self.pushed.len() == JOINERS_CATCH_UP => {
                self.closed = true;
                self.pushed = Vec::new();
            }
            CatchUp::Everything => self.pushed.push(payload),
            CatchUp::Nothing => {}
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `readstream_shared_executions`, set to how many run.
fn counted(running: &HashMap<Arc<Key>, Arc<Execution>>) {
    metrics::gauge!(readstream_runtime::metrics::SHARED_EXECUTIONS).set(running.len() as f64);
}

/// Lets go of `execution` in `running`, unless another took its key since it ended.
fn remove(running: &mut HashMap<Arc<Key>, Arc<Execution>>, execution: &Arc<Execution>) {
    if running.get(&execution.key).is_some_and(|kept| Arc::ptr_eq(kept, execution)) {
        running.remove(&execution.key);
        counted(running);
    }
}

impl SharedExecutions {
    /// No executions yet, for subscriptions that replay at most `replayed_at_most` items.
    pub fn new(replayed_at_most: usize) -> Self {
        SharedExecutions { running: Arc::default(), replayed_at_most }
    }

    /// How many shared executions run.
    #[cfg(test)]
    fn running(&self) -> usize {
        lock(&self.running).len()
    }

    /// Joins the execution of `key`'s request, started by `start` if none runs (or the one
    /// running takes no new members), catching up as `catch_up` says.
    fn join(&self, key: Key, catch_up: CatchUp, start: impl FnOnce() -> BoxStream<'static, Response>) -> Member {
        let mut running = lock(&self.running);
        let execution = match running.get(&key) {
            Some(execution) if !lock(&execution.members).closed => execution.clone(),
            _ => {
                let key = Arc::new(key);
                let execution = Arc::new(Execution {
                    key: key.clone(),
                    catch_up,
                    members: Mutex::default(),
                    left: CancellationToken::new(),
                });
                running.insert(key, execution.clone());
                counted(&running);
                tokio::spawn(run(self.clone(), execution.clone(), start()));
                execution
            }
        };
        let kept = match execution.catch_up {
            CatchUp::Everything => self.replayed_at_most + KEPT_UPDATES,
            CatchUp::Latest | CatchUp::Nothing => KEPT_UPDATES,
        };
        let (post, mailbox) = mailbox_keeping(kept);
        let id = {
            // Under the map's lock: an execution that ended is no longer in it, so a member
            // joins one that will still post its end.
            let mut members = lock(&execution.members);
            for payload in &members.pushed {
                post.post(Pushed::Next(payload.clone()));
            }
            let id = members.next_id;
            members.next_id += 1;
            members.posts.insert(id, post);
            id
        };
        drop(running);
        Member { mailbox, _leave: Leave { executions: self.clone(), execution, id } }
    }
}

/// Executes the subscription and posts each response to the members, until the last leaves or
/// the subscription ends.
async fn run(executions: SharedExecutions, execution: Arc<Execution>, mut responses: BoxStream<'static, Response>) {
    loop {
        let response = tokio::select! {
            response = responses.next() => response,
            () = execution.left.cancelled() => return,
        };
        let Some(response) = response else { break };
        let payload = serialised(response);
        let mut members = lock(&execution.members);
        for post in members.posts.values() {
            post.post(Pushed::Next(payload.clone()));
        }
        members.keep(execution.catch_up, payload);
        if members.closed {
            // A new subscriber starts anew: out of the count of those running for new members.
            drop(members);
            remove(&mut lock(&executions.running), &execution);
        }
    }
    let mut running = lock(&executions.running);
    remove(&mut running, &execution);
    for post in lock(&execution.members).posts.values() {
        post.post(Pushed::End);
    }
    drop(running);
}

/// A response as the text every member is sent, each error coded.
fn serialised(mut response: Response) -> Arc<str> {
    code_errors(&mut response);
    let text = serde_json::to_string(&response).unwrap_or_else(|_| {
        serde_json::to_string(&request_error(ApiError::internal("a response could not be serialised")))
            .unwrap_or_default()
    });
    text.into()
}

/// One subscriber of a shared execution: leaves it when dropped.
struct Member {
    mailbox: Mailbox<Pushed>,
    _leave: Leave,
}

struct Leave {
    executions: SharedExecutions,
    execution: Arc<Execution>,
    id: u64,
}

impl Drop for Leave {
    fn drop(&mut self) {
        let mut running = lock(&self.executions.running);
        let mut members = lock(&self.execution.members);
        members.posts.remove(&self.id);
        if members.posts.is_empty() {
            remove(&mut running, &self.execution);
            self.execution.left.cancel();
        }
    }
}

/// What one WebSocket's session holds for its operations, once its `connection_init` is
/// accepted.
#[derive(Clone)]
pub struct Session {
    pub viewer: Option<Viewer>,
    pub client: ClientAddress,
    pub places: Places,
    pub in_flight: InFlight,
}

/// What the socket's reader hands on about shared subscriptions.
pub enum Command {
    Subscribe { id: String, request: Box<Request>, catch_up: CatchUp },
    Stop { id: String },
}

/// One shared subscription of a socket, joined: its place on the socket and in the open count.
struct Subscribed {
    member: Member,
    _place: OwnedSemaphorePermit,
    _counted: Counted,
}

type Joined = (String, u64, Result<Subscribed, Arc<str>>);

/// One WebSocket's shared subscriptions: a stream of the text frames to send it.
pub struct SocketPushes {
    schemas: Schemas,
    protocol: WebSocketProtocols,
    session: Arc<OnceLock<Session>>,
    commands: mpsc::UnboundedReceiver<Command>,
    joining: FuturesUnordered<BoxFuture<'static, Joined>>,
    /// By the client's id: the join's number, and the subscription once joined.
    open: HashMap<String, (u64, Option<Subscribed>)>,
    joins: u64,
    /// Frames ready to send, before any other.
    ready: VecDeque<Frame>,
}

/// A frame for the socket.
pub enum Frame {
    Text(String),
    Close(u16, &'static str),
}

impl SocketPushes {
    /// The pushes of a socket whose reader sends its commands on the other end of `commands`.
    pub fn new(
        schemas: Schemas,
        protocol: WebSocketProtocols,
        session: Arc<OnceLock<Session>>,
        commands: mpsc::UnboundedReceiver<Command>,
    ) -> Self {
        SocketPushes {
            schemas,
            protocol,
            session,
            commands,
            joining: FuturesUnordered::new(),
            open: HashMap::new(),
            joins: 0,
            ready: VecDeque::new(),
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Subscribe { id, request, catch_up } => {
                if self.open.contains_key(&id) {
                    // graphql-transport-ws: an id in use closes the socket.
                    self.ready.push_back(Frame::Close(4409, "Subscriber for this id already exists"));
                    return;
                }
                let Some(session) = self.session.get().cloned() else { return };
                self.joins += 1;
                self.open.insert(id.clone(), (self.joins, None));
                let (schemas, join) = (self.schemas.clone(), self.joins);
                self.joining
                    .push(async move { (id, join, subscribe(schemas, session, *request, catch_up).await) }.boxed());
            }
            Command::Stop { id } => {
                if self.open.remove(&id).is_some() && self.protocol == WebSocketProtocols::SubscriptionsTransportWS {
                    self.ready.push_back(Frame::Text(complete_frame(&id)));
                }
            }
        }
    }

    fn joined(&mut self, (id, join, subscribed): Joined) {
        let Some((open_join, slot)) = self.open.get_mut(&id) else { return };
        if *open_join != join {
            return;
        }
        match subscribed {
            Ok(subscribed) => *slot = Some(subscribed),
            Err(refusal) => {
                self.open.remove(&id);
                self.ready.push_back(Frame::Text(next_frame(self.protocol, &id, &refusal)));
                self.ready.push_back(Frame::Text(complete_frame(&id)));
            }
        }
    }
}

/// The frame of one response: `next` (`data` in the legacy protocol), the id, the payload.
fn next_frame(protocol: WebSocketProtocols, id: &str, payload: &str) -> String {
    let kind = match protocol {
        WebSocketProtocols::GraphQLWS => "next",
        WebSocketProtocols::SubscriptionsTransportWS => "data",
    };
    let id = serde_json::to_string(id).unwrap_or_default();
    let mut frame = String::with_capacity(payload.len() + id.len() + 32);
    for part in [r#"{"type":""#, kind, r#"","id":"#, &id, r#","payload":"#, payload, "}"] {
        frame.push_str(part);
    }
    frame
}

fn complete_frame(id: &str) -> String {
    format!(r#"{{"type":"complete","id":{}}}"#, serde_json::to_string(id).unwrap_or_default())
}

/// What a refused subscription's one response says.
fn refusal(err: ApiError) -> Arc<str> {
    serialised(request_error(err))
}

/// A shared subscription on a socket, held to what any operation on it is: counted against
/// the client's and the reader's rates, prepared within the request timeout while it holds a
/// place in flight, then given one of the socket's subscription places.
async fn subscribe(
    schemas: Schemas,
    session: Session,
    request: Request,
    catch_up: CatchUp,
) -> Result<Subscribed, Arc<str>> {
    schemas.count(Some(session.client), session.viewer.as_ref()).map_err(refusal)?;
    let in_flight = session.in_flight.take().map_err(refusal)?;
    let key = Key::of(&request);
    let request = schemas.prepare_within_timeout(request).await.map_err(serialised)?;
    drop(in_flight);
    let place = session.places.take().map_err(refusal)?;
    let member = schemas.shared().join(key, catch_up, || schemas.execute_anonymous_stream(request));
    Ok(Subscribed { member, _place: place, _counted: Counted::new() })
}

impl Stream for SocketPushes {
    type Item = Frame;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        let this = &mut *self;
        while let Poll::Ready(Some(command)) = this.commands.poll_next_unpin(cx) {
            this.command(command);
        }
        while let Poll::Ready(Some(joined)) = this.joining.poll_next_unpin(cx) {
            this.joined(joined);
        }
        if let Some(frame) = this.ready.pop_front() {
            return Poll::Ready(Some(frame));
        }
        let mut ended = None;
        for (id, (_, subscribed)) in &mut this.open {
            let Some(subscribed) = subscribed else { continue };
            match subscribed.member.mailbox.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(Pushed::Next(payload)))) => {
                    return Poll::Ready(Some(Frame::Text(next_frame(this.protocol, id, &payload))));
                }
                Poll::Ready(Some(Ok(Pushed::End)) | None) => {
                    ended = Some((id.clone(), None));
                    break;
                }
                Poll::Ready(Some(Err(Lagged))) => {
                    ended = Some((id.clone(), Some(refusal(ApiError::limit_exceeded(subscriptions::FELL_BEHIND)))));
                    break;
                }
                Poll::Pending => {}
            }
        }
        if let Some((id, error)) = ended {
            this.open.remove(&id);
            if let Some(error) = error {
                this.ready.push_back(Frame::Text(next_frame(this.protocol, &id, &error)));
            }
            this.ready.push_back(Frame::Text(complete_frame(&id)));
        }
        match this.ready.pop_front() {
            Some(frame) => Poll::Ready(Some(frame)),
            None => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet};

    use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};

    use super::*;

    /// The types a field's result can reach, by walking the SDL.
    fn reachable(sdl: &str, root: &str, field: &str) -> BTreeSet<String> {
        let schema = async_graphql::parser::parse_schema(sdl).expect("the SDL parses");
        let mut fields: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for definition in &schema.definitions {
            if let TypeSystemDefinition::Type(ty) = definition {
                let name = ty.node.name.node.to_string();
                let of = match &ty.node.kind {
                    TypeKind::Object(object) => {
                        object.fields.iter().map(|f| (f.node.name.node.to_string(), base(&f.node.ty.node))).collect()
                    }
                    TypeKind::Interface(interface) => {
                        interface.fields.iter().map(|f| (f.node.name.node.to_string(), base(&f.node.ty.node))).collect()
                    }
                    _ => Vec::new(),
                };
                fields.insert(name, of);
            }
        }
        let start = fields[root].iter().find(|(name, _)| name == field).expect("the field").1.clone();
        let (mut seen, mut todo) = (BTreeSet::new(), vec![start]);
        while let Some(ty) = todo.pop() {
            if seen.insert(ty.clone()) {
                todo.extend(fields.get(&ty).into_iter().flatten().map(|(_, of)| of.clone()));
            }
        }
        seen
    }

    fn base(ty: &Type) -> String {
        match &ty.base {
            BaseType::Named(name) => name.to_string(),
            BaseType::List(of) => base(of),
        }
    }

    #[test]
    fn a_field_signed_in_subscribers_share_reaches_only_public_figures_never_a_book_or_a_reader() {
        // Each type below holds only numbers and ids, the same for every viewer. A field added
        // to one that reaches further (a `book: Book!`, whose fields read the viewer) fails
        // this test: the field would no longer be the same for everyone.
        let public: HashSet<&str> = [
            "BookRatingsChanged",
            "BookRatings",
            "RatingBucket",
            "ShelfCountsChanged",
            "ShelfCounts",
            "ID",
            "Int",
            "Float",
        ]
        .into();
        let sdl = crate::graphql::sdl();
        for field in SHARED_FIELDS.iter().filter(|field| field.signed_in) {
            let reached = reachable(&sdl, "Subscription", field.name);
            let private: Vec<_> = reached.iter().filter(|ty| !public.contains(ty.as_str())).collect();
            assert!(private.is_empty(), "{} reaches {private:?}", field.name);
        }
    }

    /// What the tests' executions replay at most.
    const REPLAYED_AT_MOST: usize = 100;

    fn key(variables: &str) -> Key {
        Key { query: "subscription".into(), operation_name: None, variables: variables.into(), extensions: "{}".into() }
    }

    fn response(count: i32) -> Response {
        Response::new(async_graphql::Value::from_json(serde_json::json!({ "count": count })).expect("a value"))
    }

    /// Responses sent by the test, and whether the execution still reads them.
    fn responses() -> (mpsc::UnboundedSender<Response>, impl FnOnce() -> BoxStream<'static, Response>) {
        let (sender, receiver) = mpsc::unbounded();
        (sender, move || receiver.boxed())
    }

    async fn received(member: &mut Member) -> Option<Result<String, Lagged>> {
        let pushed = tokio::time::timeout(std::time::Duration::from_secs(5), member.mailbox.next()).await.ok()??;
        Some(pushed.map(|pushed| match pushed {
            Pushed::Next(payload) => payload.to_string(),
            Pushed::End => "end".into(),
        }))
    }

    #[tokio::test]
    async fn members_alike_share_one_execution_and_one_text_and_a_late_one_gets_the_latest_first() {
        let executions = SharedExecutions::new(REPLAYED_AT_MOST);
        let (sender, start) = responses();
        let mut first = executions.join(key("1"), CatchUp::Latest, start);
        let mut second = executions.join(key("1"), CatchUp::Latest, || panic!("a second execution started"));
        let (_other, other_start) = responses();
        let _other = executions.join(key("2"), CatchUp::Latest, other_start);
        assert_eq!(executions.running(), 2);
        sender.unbounded_send(response(1)).expect("sent");
        assert_eq!(received(&mut first).await, Some(Ok(r#"{"data":{"count":1}}"#.into())));
        assert_eq!(received(&mut second).await, Some(Ok(r#"{"data":{"count":1}}"#.into())));
        let mut late = executions.join(key("1"), CatchUp::Latest, || panic!("a second execution started"));
        assert_eq!(received(&mut late).await, Some(Ok(r#"{"data":{"count":1}}"#.into())), "the latest, at once");
        sender.unbounded_send(response(2)).expect("sent");
        for member in [&mut first, &mut second, &mut late] {
            assert_eq!(received(member).await, Some(Ok(r#"{"data":{"count":2}}"#.into())));
        }
    }

    #[tokio::test]
    async fn the_execution_stops_when_its_last_member_leaves_and_a_new_member_starts_another() {
        let executions = SharedExecutions::new(REPLAYED_AT_MOST);
        let (sender, start) = responses();
        let (first, second) = (
            executions.join(key("1"), CatchUp::Latest, start),
            executions.join(key("1"), CatchUp::Latest, || panic!("started")),
        );
        drop(first);
        assert_eq!(executions.running(), 1, "one member is left");
        drop(second);
        assert_eq!(executions.running(), 0);
        // The execution's task lets go of its responses.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while !sender.is_closed() {
            assert!(tokio::time::Instant::now() < deadline, "the execution still runs");
            tokio::task::yield_now().await;
        }
        let (again, start) = responses();
        let mut member = executions.join(key("1"), CatchUp::Latest, start);
        again.unbounded_send(response(3)).expect("sent");
        assert_eq!(received(&mut member).await, Some(Ok(r#"{"data":{"count":3}}"#.into())));
    }

    #[tokio::test]
    async fn an_execution_that_ends_tells_each_member_and_the_next_subscriber_starts_anew() {
        let executions = SharedExecutions::new(REPLAYED_AT_MOST);
        let (sender, start) = responses();
        let mut member = executions.join(key("1"), CatchUp::Latest, start);
        sender.unbounded_send(response(1)).expect("sent");
        drop(sender);
        assert_eq!(received(&mut member).await, Some(Ok(r#"{"data":{"count":1}}"#.into())));
        assert_eq!(received(&mut member).await, Some(Ok("end".into())));
        assert_eq!(executions.running(), 0);
        let (_sender, start) = responses();
        let mut started = false;
        let _next = executions.join(key("1"), CatchUp::Latest, || {
            started = true;
            start()
        });
        assert!(started, "a new execution");
    }

    #[tokio::test]
    async fn a_member_that_reads_too_slowly_falls_behind_alone() {
        let executions = SharedExecutions::new(REPLAYED_AT_MOST);
        let (sender, start) = responses();
        let mut slow = executions.join(key("1"), CatchUp::Latest, start);
        let mut keeping_up = executions.join(key("1"), CatchUp::Latest, || panic!("started"));
        for n in 0..=64 {
            sender.unbounded_send(response(n)).expect("sent");
            assert_eq!(received(&mut keeping_up).await, Some(Ok(format!(r#"{{"data":{{"count":{n}}}}}"#))));
        }
        assert_eq!(received(&mut slow).await, Some(Err(Lagged)));
        assert_eq!(executions.running(), 1);
    }

    #[test]
    fn a_frame_is_the_shared_text_with_the_subscribers_id_around_it() {
        let payload = r#"{"data":{"count":1}}"#;
        let frame: serde_json::Value =
            serde_json::from_str(&next_frame(WebSocketProtocols::GraphQLWS, "a\"b", payload)).expect("JSON");
        assert_eq!(frame, serde_json::json!({ "type": "next", "id": "a\"b", "payload": { "data": { "count": 1 } } }));
        let legacy: serde_json::Value =
            serde_json::from_str(&next_frame(WebSocketProtocols::SubscriptionsTransportWS, "1", payload))
                .expect("JSON");
        assert_eq!(legacy["type"], "data");
        let complete: serde_json::Value = serde_json::from_str(&complete_frame("1")).expect("JSON");
        assert_eq!(complete, serde_json::json!({ "type": "complete", "id": "1" }));
    }

    #[test]
    fn only_a_subscription_of_one_shared_field_is_shared_and_reviews_by_anonymous_subscribers_only() {
        let sharing = |query: &str, name: Option<&str>, variables: serde_json::Value, signed_in: bool| {
            let document = async_graphql::parser::parse_query(query).expect("a query");
            let mut request = Request::new(query).variables(async_graphql::Variables::from_json(variables));
            request.operation_name = name.map(str::to_owned);
            sharing(&document, &request, signed_in)
        };
        let shared = |query: &str, name: Option<&str>| sharing(query, name, serde_json::json!({}), true).is_some();
        assert!(shared("subscription($b: ID!) { bookRatingsChanged(bookId: $b) { position } }", None));
        assert!(shared("subscription A { feed { position } } subscription B { bookShelfCountsChanged(bookId: \"x\") { position } }", Some("B")));
        assert!(!shared("subscription A { feed { position } } subscription B { bookShelfCountsChanged(bookId: \"x\") { position } }", Some("A")));
        assert!(!shared("subscription { feed { position } }", None));
        assert!(!shared("subscription { a: bookRatingsChanged(bookId: \"x\") { position } b: bookRatingsChanged(bookId: \"y\") { position } }", None));
        assert!(!shared(
            "subscription { ...F } fragment F on Subscription { bookRatingsChanged(bookId: \"x\") { position } }",
            None
        ));
        assert!(!shared("query { bookRatingsChanged(bookId: \"x\") { position } }", None));

        // A book's figures: the latest first, signed in or not.
        let figures = "subscription { bookRatingsChanged(bookId: \"x\") { position } }";
        assert_eq!(sharing(figures, None, serde_json::json!({}), false), Some(CatchUp::Latest));
        // New reviews: anonymous subscribers only; everything pushed first only after a `since`.
        let reviews = "subscription($b: ID!, $since: Int) { bookReviewAdded(bookId: $b, since: $since) { id } }";
        let (b, since) = (serde_json::json!({ "b": "x" }), serde_json::json!({ "b": "x", "since": 7 }));
        assert_eq!(sharing(reviews, None, since.clone(), true), None, "a signed-in subscriber runs its own");
        assert_eq!(sharing(reviews, None, since, false), Some(CatchUp::Everything));
        assert_eq!(sharing(reviews, None, b.clone(), false), Some(CatchUp::Nothing), "no `since`");
        let null = serde_json::json!({ "b": "x", "since": null });
        assert_eq!(sharing(reviews, None, null, false), Some(CatchUp::Nothing), "a null `since`");
        let defaulted = "subscription($b: ID!, $since: Int = 3) { bookReviewAdded(bookId: $b, since: $since) { id } }";
        assert_eq!(sharing(defaulted, None, b.clone(), false), Some(CatchUp::Everything), "a default `since`");
        let literal = "subscription($b: ID!) { bookReviewAdded(bookId: $b, since: 3) { id } }";
        assert_eq!(sharing(literal, None, b.clone(), false), Some(CatchUp::Everything));
        let none = "subscription($b: ID!) { bookReviewAdded(bookId: $b) { id } }";
        assert_eq!(sharing(none, None, b, false), Some(CatchUp::Nothing));
    }

    #[tokio::test]
    async fn a_member_joining_items_after_a_since_gets_every_one_pushed_and_past_the_catch_up_a_new_execution() {
        let executions = SharedExecutions::new(REPLAYED_AT_MOST);
        let (sender, start) = responses();
        let mut first = executions.join(key("1"), CatchUp::Everything, start);
        for n in 0..2 {
            sender.unbounded_send(response(n)).expect("sent");
            assert_eq!(received(&mut first).await, Some(Ok(format!(r#"{{"data":{{"count":{n}}}}}"#))));
        }
        let mut late = executions.join(key("1"), CatchUp::Everything, || panic!("a second execution started"));
        for n in 0..2 {
            assert_eq!(received(&mut late).await, Some(Ok(format!(r#"{{"data":{{"count":{n}}}}}"#))), "caught up");
        }
        // Past what it keeps for those who join, the execution goes on for its members alone.
        for n in 2..=JOINERS_CATCH_UP as i32 {
            sender.unbounded_send(response(n)).expect("sent");
            for member in [&mut first, &mut late] {
                assert_eq!(received(member).await, Some(Ok(format!(r#"{{"data":{{"count":{n}}}}}"#))));
            }
        }
        assert_eq!(executions.running(), 0, "closed to new members");
        let (again, start) = responses();
        let mut started = false;
        let mut anew = executions.join(key("1"), CatchUp::Everything, || {
            started = true;
            start()
        });
        assert!(started, "a subscriber past the catch-up starts anew");
        again.unbounded_send(response(100)).expect("sent");
        assert_eq!(received(&mut anew).await, Some(Ok(r#"{"data":{"count":100}}"#.into())), "nothing before it");
        sender.unbounded_send(response(101)).expect("sent");
        assert_eq!(received(&mut first).await, Some(Ok(r#"{"data":{"count":101}}"#.into())), "the first goes on");
    }

    #[tokio::test]
    async fn the_first_members_of_items_after_a_since_get_a_whole_replay_posted_before_they_read() {
        let executions = SharedExecutions::new(REPLAYED_AT_MOST);
        let (sender, start) = responses();
        let mut first = executions.join(key("1"), CatchUp::Everything, start);
        let mut second = executions.join(key("1"), CatchUp::Everything, || panic!("a second execution started"));
        // The replay comes at once: more than a mailbox keeps by default, none read yet.
        for n in 0..REPLAYED_AT_MOST as i32 {
            sender.unbounded_send(response(n)).expect("sent");
        }
        for member in [&mut first, &mut second] {
            for n in 0..REPLAYED_AT_MOST as i32 {
                assert_eq!(received(member).await, Some(Ok(format!(r#"{{"data":{{"count":{n}}}}}"#))), "not behind");
            }
        }
        // Only past the replay and a mailbox's worth on top does a member fall behind.
        for n in 0..(REPLAYED_AT_MOST + KEPT_UPDATES) as i32 + 1 {
            sender.unbounded_send(response(n)).expect("sent");
        }
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        while !first.mailbox.lagged() {
            assert!(tokio::time::Instant::now() < deadline, "never fell behind");
            tokio::task::yield_now().await;
        }
        assert_eq!(received(&mut first).await, Some(Err(Lagged)));
    }

    #[tokio::test]
    async fn a_member_joining_items_without_a_since_gets_only_what_comes_after() {
        let executions = SharedExecutions::new(REPLAYED_AT_MOST);
        let (sender, start) = responses();
        let mut first = executions.join(key("1"), CatchUp::Nothing, start);
        sender.unbounded_send(response(1)).expect("sent");
        assert_eq!(received(&mut first).await, Some(Ok(r#"{"data":{"count":1}}"#.into())));
        let mut late = executions.join(key("1"), CatchUp::Nothing, || panic!("a second execution started"));
        sender.unbounded_send(response(2)).expect("sent");
        assert_eq!(received(&mut late).await, Some(Ok(r#"{"data":{"count":2}}"#.into())), "not the one before");
    }
}
