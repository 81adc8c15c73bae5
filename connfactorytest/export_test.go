package connfactorytest

// ProfileNames lists the profiles a one-node sandbox writes, for the tests.
var ProfileNames = profileNames
