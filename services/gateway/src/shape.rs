//! The shape of a GraphQL document, measured before anything else reads it: how deep its text
//! nests, and per operation its root fields, aliases, field depth and cost. Each fragment is
//! measured once however often it is spread, so measuring is linear in the document's length
//! whatever it spreads (a fragment spreading the next eight times, sixteen deep, is 8^15 fields
//! expanded and a few hundred bytes of text).
//!
//! async-graphql's validation expands every spread: its depth, complexity and cache-control
//! visitors run on every request, limits or not. A document refused here never reaches it, and
//! one that passes expands to at most `max_cost` fields, so validation's work is bounded too.

use std::collections::{HashMap, HashSet};

use async_graphql::{
    parser::types::{
        DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet, TypeKind,
        TypeSystemDefinition,
    },
    Name, Positioned, Value, Variables,
};

use crate::{
    error::ApiError,
    graphql::shared::{DEFAULT_PAGE, MAX_PAGE},
};

/// Brackets, braces and parentheses nest at most this deep in a document's text: past it, the
/// parser's own recursion is the risk.
pub const MAX_TEXT_NESTING: usize = 64;

/// Fragments (spread or inline) nest in one another at most this deep.
pub const MAX_FRAGMENT_NESTING: usize = 16;

/// The limits a document's shape is held to, and what the schema says about paging.
#[derive(Clone)]
pub struct QueryShape {
    pub max_root_fields: usize,
    pub max_aliases: usize,
    pub max_depth: usize,
    pub max_cost: usize,
    /// Fields taking `first`: each costs its page size times what each item asks for.
    paged: HashSet<String>,
}

impl QueryShape {
    /// The limits, with the paged fields read from the schema's SDL.
    pub fn new(limits: &crate::limits::LimitsConfig, sdl: &str) -> Self {
        let mut paged = HashSet::new();
        if let Ok(schema) = async_graphql::parser::parse_schema(sdl) {
            for definition in schema.definitions {
                let TypeSystemDefinition::Type(definition) = definition else { continue };
                let fields = match &definition.node.kind {
                    TypeKind::Object(object) => &object.fields,
                    TypeKind::Interface(interface) => &interface.fields,
                    _ => continue,
                };
                for field in fields {
                    if field.node.arguments.iter().any(|argument| argument.node.name.node == "first") {
                        paged.insert(field.node.name.node.to_string());
                    }
                }
            }
        }
        Self {
            max_root_fields: limits.max_root_fields,
            max_aliases: limits.max_aliases,
            max_depth: limits.max_query_depth,
            max_cost: limits.max_query_cost,
            paged,
        }
    }

    /// Refuses a text that nests deeper than [`MAX_TEXT_NESTING`], before it is parsed; strings
    /// and comments are skipped.
    pub fn check_text(query: &str) -> Result<(), ApiError> {
        let (mut depth, mut bytes) = (0usize, query.as_bytes().iter().peekable());
        while let Some(&byte) = bytes.next() {
            match byte {
                b'{' | b'[' | b'(' => {
                    depth += 1;
                    if depth > MAX_TEXT_NESTING {
                        return Err(refused(format!(
                            "a query may nest braces, brackets and parentheses at most {MAX_TEXT_NESTING} deep"
                        )));
                    }
                }
                b'}' | b']' | b')' => depth = depth.saturating_sub(1),
                b'#' => {
                    for &byte in bytes.by_ref() {
                        if byte == b'\n' || byte == b'\r' {
                            break;
                        }
                    }
                }
                // A string, or a block string (`"""`): either way it ends at an unescaped quote
                // of its own kind, and nothing in it nests.
                b'"' => {
                    let block = bytes.next_if_eq(&&b'"').is_some() && bytes.next_if_eq(&&b'"').is_some();
                    let mut quotes = 0;
                    while let Some(&byte) = bytes.next() {
                        match byte {
                            b'\\' => {
                                bytes.next();
                                quotes = 0;
                            }
                            b'"' if !block => break,
                            b'"' => {
                                quotes += 1;
                                if quotes == 3 {
                                    break;
                                }
                            }
                            _ => quotes = 0,
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Every operation's root fields, aliases, depth and cost against their limits, each
    /// fragment measured once; a fragment cycle, an unused fragment or fragments nested too
    /// deep are refused too.
    pub fn check(&self, document: &ExecutableDocument, variables: &Variables) -> Result<(), ApiError> {
        let mut walk = Walk { shape: self, document, variables, fragments: HashMap::new() };
        let mut total = Measure::default();
        for (_, operation) in document.operations.iter() {
            let measure = walk.operation(operation)?;
            if measure.root_fields > self.max_root_fields {
                return Err(refused(format!(
                    "an operation may ask for at most {} root fields (MAX_ROOT_FIELDS)",
                    self.max_root_fields
                )));
            }
            if measure.depth > self.max_depth {
                return Err(refused(format!(
                    "a query may nest fields at most {} deep (MAX_QUERY_DEPTH)",
                    self.max_depth
                )));
            }
            total = total.and(measure);
        }
        if total.aliases > self.max_aliases {
            return Err(refused(format!(
                "a document may hold at most {} aliased fields (MAX_ALIASES)",
                self.max_aliases
            )));
        }
        if total.cost > self.max_cost || total.fields > self.max_cost {
            return Err(refused(format!(
                "a query may cost at most {} (MAX_QUERY_COST): each field costs one, and a page its size \
                 times what each item asks for",
                self.max_cost
            )));
        }
        if let Some(unused) = document.fragments.keys().find(|name| !walk.fragments.contains_key(*name)) {
            return Err(refused(format!("fragment {unused} is never used")));
        }
        Ok(())
    }
}

fn refused(message: String) -> ApiError {
    ApiError::invalid("query", message)
}

/// What a selection set asks for once its fragments are expanded.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Measure {
    /// Fields at this level.
    root_fields: usize,
    /// Fields at every level.
    fields: usize,
    aliases: usize,
    /// Fields nested below this level, this level's included.
    depth: usize,
    /// Fragments nested below this level.
    nesting: usize,
    cost: usize,
}

impl Measure {
    /// This and `other` side by side in one selection set.
    fn and(self, other: Measure) -> Measure {
        Measure {
            root_fields: self.root_fields.saturating_add(other.root_fields),
            fields: self.fields.saturating_add(other.fields),
            aliases: self.aliases.saturating_add(other.aliases),
            depth: self.depth.max(other.depth),
            nesting: self.nesting.max(other.nesting),
            cost: self.cost.saturating_add(other.cost),
        }
    }
}

enum Fragment {
    Measuring,
    Measured(Measure),
}

struct Walk<'a> {
    shape: &'a QueryShape,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    fragments: HashMap<&'a Name, Fragment>,
}

impl<'a> Walk<'a> {
    /// An operation's measure; a paged field's size may come from its variables' defaults.
    fn operation(&mut self, operation: &'a Positioned<OperationDefinition>) -> Result<Measure, ApiError> {
        let defaults: HashMap<&Name, &Value> = operation
            .node
            .variable_definitions
            .iter()
            .filter_map(|definition| Some((&definition.node.name.node, &definition.node.default_value.as_ref()?.node)))
            .collect();
        self.selection_set(&operation.node.selection_set.node, 0, &defaults)
    }

    fn selection_set(
        &mut self,
        set: &'a SelectionSet,
        nesting: usize,
        defaults: &HashMap<&Name, &Value>,
    ) -> Result<Measure, ApiError> {
        let mut measure = Measure::default();
        for selection in &set.items {
            let part = match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let inner = self.selection_set(&field.selection_set.node, nesting, defaults)?;
                    let cost = if self.shape.paged.contains(field.name.node.as_str()) {
                        let first = field
                            .get_argument("first")
                            .and_then(|value| {
                                let variable = |name: Name| {
                                    let value = self.variables.get(&name).or_else(|| defaults.get(&name).copied());
                                    value.cloned().ok_or(())
                                };
                                whole_number(value.node.clone().into_const_with(variable).ok()?)
                            })
                            .unwrap_or(i64::from(DEFAULT_PAGE))
                            .clamp(1, i64::from(MAX_PAGE));
                        usize::try_from(first).unwrap_or(usize::MAX).saturating_mul(inner.cost).max(1)
                    } else {
                        inner.cost.saturating_add(1)
                    };
                    Measure {
                        root_fields: 1,
                        fields: inner.fields.saturating_add(1),
                        aliases: inner.aliases.saturating_add(usize::from(field.alias.is_some())),
                        depth: inner.depth.saturating_add(1),
                        nesting: inner.nesting,
                        cost,
                    }
                }
                Selection::InlineFragment(fragment) => {
                    self.nested(nesting)?;
                    let inner = self.selection_set(&fragment.node.selection_set.node, nesting + 1, defaults)?;
                    Measure { nesting: inner.nesting + 1, ..inner }
                }
                Selection::FragmentSpread(spread) => {
                    self.nested(nesting)?;
                    self.fragment(&spread.node.fragment_name.node, nesting + 1, defaults)?
                }
            };
            measure = measure.and(part);
            if measure.fields > self.shape.max_cost {
                // Past the limit already: no need to look further.
                return Ok(measure);
            }
        }
        Ok(measure)
    }

    /// A fragment's measure, measured at its first spread.
    fn fragment(
        &mut self,
        name: &'a Name,
        nesting: usize,
        defaults: &HashMap<&Name, &Value>,
    ) -> Result<Measure, ApiError> {
        match self.fragments.get(name) {
            Some(Fragment::Measured(measure)) => {
                if nesting + measure.nesting > MAX_FRAGMENT_NESTING {
                    return Err(too_nested());
                }
                return Ok(Measure { nesting: measure.nesting + 1, ..*measure });
            }
            Some(Fragment::Measuring) => return Err(refused(format!("fragment {name} spreads itself"))),
            None => {}
        }
        // Unknown fragments are validation's to name; they ask for nothing here.
        let Some(fragment) = self.document.fragments.get(name) else { return Ok(Measure::default()) };
        self.fragments.insert(name, Fragment::Measuring);
        let measure = self.selection_set(&fragment.node.selection_set.node, nesting, defaults)?;
        self.fragments.insert(name, Fragment::Measured(measure));
        Ok(Measure { nesting: measure.nesting + 1, ..measure })
    }

    fn nested(&self, nesting: usize) -> Result<(), ApiError> {
        if nesting >= MAX_FRAGMENT_NESTING {
            return Err(too_nested());
        }
        Ok(())
    }
}

/// A number as a whole number (a float's whole part, within `i64`).
fn whole_number(value: Value) -> Option<i64> {
    match value {
        Value::Number(number) => {
            number.as_i64().or_else(|| number.as_f64().map(|f| f.clamp(i64::MIN as f64, i64::MAX as f64) as i64))
        }
        _ => None,
    }
}

fn too_nested() -> ApiError {
    refused(format!("fragments may nest at most {MAX_FRAGMENT_NESTING} deep"))
}

/// Whether the document's operation (the one named, or its only one) is a subscription.
pub fn is_subscription(document: &ExecutableDocument, operation_name: Option<&str>) -> bool {
    operation(document, operation_name)
        .is_some_and(|operation| operation.node.ty == async_graphql::parser::types::OperationType::Subscription)
}

/// The operation a request runs: the one named, or the only one.
pub fn operation<'a>(
    document: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'a Positioned<OperationDefinition>> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::LimitsConfig;

    const SDL: &str = "type Query { viewer: Reader books(first: Int): [Book] a: Int b: Int c: Int d: Int }
        type Reader { id: ID friend: Reader shelf(first: Int): [Book] }
        type Book { title: String reviews(first: Int): [Book] }";

    fn shape(query: &str) -> Result<(), ApiError> {
        QueryShape::check_text(query)?;
        let document = async_graphql::parser::parse_query(query).expect("a query");
        let limits = LimitsConfig { max_root_fields: 3, max_aliases: 2, ..LimitsConfig::PRODUCTION };
        QueryShape::new(&limits, SDL).check(&document, &Variables::default())
    }

    fn refusal(query: &str) -> String {
        shape(query).err().map(|err| err.message).unwrap_or_default()
    }

    /// F1 spreads F2 eight times, F2 spreads F3 eight times, …: 8^(n-1) fields expanded.
    fn fragment_bomb(n: usize, fanout: usize) -> String {
        let mut query = String::from("query { viewer { ...F1 } }");
        for i in 1..n {
            query.push_str(&format!(" fragment F{i} on Reader {{ {} }}", format!("...F{} ", i + 1).repeat(fanout)));
        }
        query.push_str(&format!(" fragment F{n} on Reader {{ id }}"));
        query
    }

    #[test]
    fn root_fields_and_aliases_are_counted_through_fragments() {
        assert!(shape("{ a b c }").is_ok());
        assert!(refusal("{ a b c d }").contains("root fields"));
        assert!(refusal("{ ...F } fragment F on Query { a b c d }").contains("root fields"));
        assert!(shape("{ x: a y: a }").is_ok());
        assert!(refusal("{ viewer { x: id y: id z: id } }").contains("aliased"));
        assert!(refusal("{ ...F } fragment F on Query { viewer { ... on Reader { x: id y: id z: id } } }")
            .contains("aliased"));
    }

    #[test]
    fn a_fragment_bomb_is_measured_once_per_fragment_and_refused_at_once() {
        let started = std::time::Instant::now();
        assert!(refusal(&fragment_bomb(16, 8)).contains("MAX_QUERY_COST"));
        assert!(refusal(&fragment_bomb(18, 1)).contains("fragments may nest"));
        assert!(refusal(&fragment_bomb(12, 8)).contains("MAX_QUERY_COST"));
        assert!(started.elapsed() < std::time::Duration::from_millis(50), "{:?}", started.elapsed());
        assert!(shape(&fragment_bomb(4, 2)).is_ok(), "8 fields expanded");
    }

    #[test]
    fn cycles_unused_fragments_and_deep_text_are_refused() {
        assert!(refusal("{ viewer { ...A } } fragment A on Reader { ...B } fragment B on Reader { ...A }")
            .contains("spreads itself"));
        assert!(refusal("{ viewer { ...A } } fragment A on Reader { ...A }").contains("spreads itself"));
        assert!(refusal("{ viewer { id } } fragment A on Reader { id }").contains("never used"));
        let deep = format!("{}{}", "{ viewer ".repeat(100), "}".repeat(100));
        assert!(refusal(&deep).contains("nest braces"));
        // Braces in strings and comments do not nest.
        let quoted = format!("{{ a(x: \"{}\") # {}\n }}", "{".repeat(100), "[".repeat(100));
        assert!(QueryShape::check_text(&quoted).is_ok());
        let block = format!("{{ a(x: \"\"\"{}\\\"\"\" \"\"\") }}", "(".repeat(100));
        assert!(QueryShape::check_text(&block).is_ok());
    }

    #[test]
    fn depth_counts_fields_and_pages_cost_their_size() {
        let nested = |n: usize| format!("{{ viewer {{ {} id {} }} }}", "friend { ".repeat(n), "} ".repeat(n));
        assert!(shape(&nested(14)).is_ok(), "16 fields deep");
        assert!(refusal(&nested(15)).contains("MAX_QUERY_DEPTH"));
        assert!(shape("{ books(first: 100) { reviews(first: 49) { title } } }").is_ok());
        assert!(refusal("{ books(first: 100) { reviews(first: 100) { title } } }").contains("MAX_QUERY_COST"));
        assert!(refusal("{ books { reviews { reviews { title } } } }").contains("MAX_QUERY_COST"), "20 a page");
    }

    #[test]
    fn only_a_subscription_is_a_subscription() {
        let document = |query| async_graphql::parser::parse_query(query).expect("a query");
        assert!(is_subscription(&document("subscription { a }"), None));
        assert!(!is_subscription(&document("{ a }"), None));
        let two = document("query Q { a } subscription S { a }");
        assert!(is_subscription(&two, Some("S")));
        assert!(!is_subscription(&two, Some("Q")));
        assert!(!is_subscription(&two, None));
    }
}
