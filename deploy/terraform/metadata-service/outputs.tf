output "METAFLOW_SERVICE_INTERNAL_URL" {
  value       = "http://${aws_lb.this.dns_name}/"
  description = "URL of the Metadata Service, reachable inside the VPC"
}

output "METAFLOW_SERVICE_URL" {
  value       = var.enable_api_gateway ? "https://${aws_api_gateway_rest_api.this[0].id}.execute-api.${data.aws_region.current.name}.amazonaws.com/${aws_api_gateway_stage.api[0].stage_name}/" : ""
  description = "URL of the Metadata Service, public (through API Gateway); empty when enable_api_gateway is false"
}

output "api_gateway_rest_api_id" {
  value       = var.enable_api_gateway ? aws_api_gateway_rest_api.this[0].id : ""
  description = "ID of the API Gateway REST API that forwards to the Fargate service"
}

output "api_gateway_rest_api_id_key_id" {
  value       = local.with_api_key ? aws_api_gateway_api_key.this[0].id : ""
  description = "API Gateway key id; the key itself (METAFLOW_SERVICE_AUTH_KEY) is fetched from AWS"
}

output "metadata_service_security_group_id" {
  value       = aws_security_group.this.id
  description = "Security group of the service; the database grants it access"
}

output "metadata_svc_ecs_task_role_arn" {
  value       = aws_iam_role.task.arn
  description = "Role passed to the ECS task definition as task_role, with the AWS permissions the service needs"
}

output "migration_function_arn" {
  value       = aws_lambda_function.db_migrate.arn
  description = "ARN of the DB migration function"
}

output "network_load_balancer_dns_name" {
  value       = aws_lb.this.dns_name
  description = "DNS name of the Network Load Balancer that forwards to the Fargate service"
}
