package carry

// CountCarried counts the items carried, or that a dry run would carry.
func (r *Report) CountCarried() int {
	n := 0
	for _, it := range r.Items {
		if it.Result == Carried || it.Result == WouldCarry {
			n++
		}
	}
	return n
}

// BytesToCarry is what a dry run would carry, in bytes.
func (r *Report) BytesToCarry() int64 {
	var n int64
	for _, it := range r.Items {
		if it.Result == WouldCarry {
			n += it.Bytes
		}
	}
	return n
}
