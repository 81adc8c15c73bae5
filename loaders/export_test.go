package loaders

// SetKeysPerTable lowers the keys-per-table limit for a test; the returned func restores it.
func SetKeysPerTable(n int) (restore func()) {
	old := limits.KeysPerTable
	limits.KeysPerTable = n
	return func() { limits.KeysPerTable = old }
}

// Limits are the structural limits, for messages in tests.
func Limits() (depth, keySegments, keysPerTable int) {
	return limits.Depth, limits.KeySegments, limits.KeysPerTable
}
