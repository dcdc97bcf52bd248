package ops

// InPlace reports whether o writes its result into the storage of its first
// input (a state buffer such as a KV cache) instead of a fresh tensor: the
// result aliases that input, and the write outlives the step.
func InPlace(o Op) bool { return o == OpKVWrite || o == OpRopeKVWrite }
