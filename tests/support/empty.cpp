// Keeps the test support library non-empty whatever else support/ holds.
