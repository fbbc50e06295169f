"""What staff read: reports, charts, ticket cards and exports."""
