"""The risk register's policy as versioned data: the likelihood x impact matrix, the risk appetite
per classification, the rules that suggest a scenario's likelihood from its evidence, the threat
vocabulary, and the comparison of ratings across forces. Pure: no storage, no pages."""
