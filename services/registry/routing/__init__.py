"""Call routing: the decision for one inbound call, and the outgoing HTTP it needs."""
