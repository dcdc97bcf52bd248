package tokenizer

// bigramHeap is the binary heap both merge loops pop their next pair from;
// the element type's before method decides the order (lowest BPE rank, or
// highest SentencePiece score, ties to the leftmost pair). A type parameter
// rather than container/heap keeps the comparisons direct calls in the
// hot loop.
type bigramHeap[T interface{ before(T) bool }] []T

func (h *bigramHeap[T]) push(x T) {
	*h = append(*h, x)
	q := *h
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if !q[i].before(q[p]) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (h *bigramHeap[T]) pop() T {
	q := *h
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q = q[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(q) && q[l].before(q[m]) {
			m = l
		}
		if r < len(q) && q[r].before(q[m]) {
			m = r
		}
		if m == i {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	*h = q
	return top
}
