//! The SDL checked in as `schema/schema.graphql` is the contract: it must match the code.

#[test]
fn the_checked_in_schema_matches_the_code() {
    let checked_in = include_str!("../../../schema/schema.graphql");
    let generated = readstream_gateway::graphql::sdl();
    assert!(checked_in == generated, "schema/schema.graphql is out of date: run `make schema` and review the diff");
}
