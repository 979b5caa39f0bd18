"""Language rules over plain text, shared by every stage; no I/O, no model, no index.

In: strings. Out: normalized tokens and content words (`normalize`), sentence spans
(`sentences`), the kind of answer a question asks and whether a sentence can hold it (`kinds`),
Latin names matched to their Arabic spellings (`transliterate`), the counts a sentence gives, as
intervals with the noun they count (`values`), and a question's distinctive constraints (years,
numbers, names, rarest words) and whether a passage meets them (`constraints`).
"""
