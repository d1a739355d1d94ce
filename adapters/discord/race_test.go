//go:build race

package discord_test

// raceEnabled: the race detector makes JSON decoding and the store's
// commits many times slower, so the largest tests run smaller under it
// (.ci/run runs them with -race; `go test ./adapters/discord` at full size).
const raceEnabled = true
