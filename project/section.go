package project

// Section is a YAML value of a section that Load keeps for another package
// to check (the top-level schedules), with where each part is written, so
// that package's errors name positions as Load's own do (FieldErrorf).
type Section struct {
	Pos     Pos            // where the value starts
	Plain   any            // the value as plain Go values (see Describe)
	Entries []SectionEntry // a mapping's entries, in the file's order; nil otherwise
	Items   []*Section     // a list's items; nil otherwise
}

// SectionEntry is one key: value pair of a mapping Section.
type SectionEntry struct {
	Key    string
	KeyPos Pos // where the key is written
	Value  *Section
}

// IsMapping reports whether v is a YAML mapping.
func (v *Section) IsMapping() bool {
	_, ok := v.Plain.(map[string]any)
	return ok
}

// IsList reports whether v is a YAML list.
func (v *Section) IsList() bool {
	_, ok := v.Plain.([]any)
	return ok
}

// Entry returns the entry of a mapping Section with the given key, or nil.
func (v *Section) Entry(key string) *SectionEntry {
	for i := range v.Entries {
		if v.Entries[i].Key == key {
			return &v.Entries[i]
		}
	}
	return nil
}

// exported returns n as a Section.
func (n *node) exported() *Section {
	v := &Section{Pos: n.pos, Plain: n.plain()}
	for _, e := range n.entries {
		v.Entries = append(v.Entries, SectionEntry{Key: e.key, KeyPos: e.keyPos, Value: e.value.exported()})
	}
	for _, it := range n.items {
		v.Items = append(v.Items, it.exported())
	}
	return v
}

// FieldErrorf returns the errs.Invalid error that Load returns for a bad
// field: "FILE:LINE:COL: FIELD: message", on one line.
func FieldErrorf(pos Pos, field, format string, args ...any) error {
	return fieldf(pos, field, format, args...)
}
