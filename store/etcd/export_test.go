package etcd

// ScanFilters has s's filtered pages read the incident index alone, as
// before the field index: the benchmark's baseline in the same run.
func ScanFilters(s *Store, on bool) { s.scanFilters = on }
