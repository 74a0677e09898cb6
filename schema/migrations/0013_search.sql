-- Search over the read models, in Postgres alone: trigram matching (pg_trgm) on text folded to
-- lower case without accents (unaccent), so "moskow 1956" finds "Moscow 1956" and "tolstoi"
-- finds "Tolstoï". Both extensions are trusted: the database's owner may create them.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;

-- What search compares: lower case, accents removed. unaccent() alone is only STABLE (it finds
-- its dictionary by search_path); naming the dictionary makes this one fit for an index.
CREATE FUNCTION search_text(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT lower(public.unaccent('public.unaccent'::regdictionary, $1)) $$;

CREATE INDEX books_search ON books USING gin (search_text(title || ' ' || subtitle) gin_trgm_ops);
CREATE INDEX authors_search ON authors USING gin (search_text(name) gin_trgm_ops);
CREATE INDEX readers_search ON readers USING gin (search_text(handle || ' ' || display_name) gin_trgm_ops);
