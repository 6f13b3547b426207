"""No models any more: SCIM applications (connectors 0002) and webhook endpoints with their deliveries
(connectors 0003) became connector targets and effects. The app keeps what outbound calls share
(`urlpolicy`, `outbound`, `crypto`, `scim_protocol`) and its migrations."""
