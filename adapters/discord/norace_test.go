//go:build !race

package discord_test

// raceEnabled is false: race_test.go says why it matters.
const raceEnabled = false
