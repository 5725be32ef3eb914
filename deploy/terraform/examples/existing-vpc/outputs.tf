output "METAFLOW_SERVICE_URL" {
  value       = module.metadata_service.METAFLOW_SERVICE_URL
  description = "Give this to Metaflow clients as METAFLOW_SERVICE_URL"
}

output "METAFLOW_SERVICE_INTERNAL_URL" {
  value       = module.metadata_service.METAFLOW_SERVICE_INTERNAL_URL
  description = "The service inside the VPC (Batch, Step Functions)"
}

output "api_key_id" {
  value       = module.metadata_service.api_gateway_rest_api_id_key_id
  description = "aws apigateway get-api-key --api-key ID --include-value gives METAFLOW_SERVICE_AUTH_KEY"
}

output "migration_function_arn" {
  value       = module.metadata_service.migration_function_arn
  description = "Invoke after each deployment to apply pending migrations"
}
