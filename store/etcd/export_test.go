package etcd

// ScanFilters has s's filtered pages read the incident index alone, as
// before the field index: the benchmark's baseline in the same run.
func ScanFilters(s *Store, on bool) { s.scanFilters = on }

// CheckAfterUpdates has every Update of s check the incident indexes as
// Open does, so that its incidents are read through their field keys
// rather than as modified since the last Open.
func CheckAfterUpdates(s *Store) { s.checkAfterUpdate = true }
