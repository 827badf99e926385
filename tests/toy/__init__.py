"""Components written for the tests: each exercises one part of the contract."""
