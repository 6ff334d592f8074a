package modelsvc

// Watchers returns the number of WatchVersions streams waiting for the next version (for tests).
func Watchers(s *Service) int { return s.reads.Waiting() }
