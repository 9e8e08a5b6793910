//! Borealis server: puts the engine on the network with the MySQL client/server protocol.
