-- A similarity document keeps its token stream (Dolos's tokens and their regions), parsed once
-- when it is indexed: comparing a new submission with its candidates then parses only the new one.
-- NULL for documents indexed before: they are parsed from their source when compared.
ALTER TABLE similarity_documents ADD COLUMN tokens text, ADD COLUMN token_regions bytea;

-- A pair measured by Dolos in full (fragments, longest run) or only estimated from the fingerprints
-- the two share (the candidates beyond the few most similar ones): its fragments are then worked
-- out when a reviewer opens it.
ALTER TABLE similarity_pairs ADD COLUMN detailed boolean NOT NULL DEFAULT true;
