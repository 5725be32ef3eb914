data "aws_region" "current" {}

locals {
  name = "${var.resource_prefix}metadata-service${var.resource_suffix}"

  # Fault of the original fixed: an empty image input left the task without an image.
  # The default is the image built from deploy/container/Dockerfile at this module's version.
  default_container_image = "ghcr.io/metaflow-metadata-service/metadata-service:0.1.0"
  container_image         = var.metadata_service_container_image != "" ? var.metadata_service_container_image : local.default_container_image

  # Fault of the original fixed: is_gov was declared and never used.
  is_gov = var.is_gov || var.iam_partition == "aws-us-gov"

  # The endpoint is address:port; the port defaults to PostgreSQL's when it is missing.
  database_host = split(":", var.rds_master_instance_endpoint)[0]
  database_port = try(split(":", var.rds_master_instance_endpoint)[1], "5432")

  api_port       = 8080
  migration_port = 8082
  nlb_ports = {
    api       = { container_port = local.api_port, listener_port = 80, target_group = "mdtg" }
    migration = { container_port = local.migration_port, listener_port = local.migration_port, target_group = "dbtg" }
  }

  # The migration API is reached on the load balancer's 8082 listener.
  migration_url = "http://${aws_lb.this.dns_name}:${local.migration_port}"

  with_api_key = var.enable_api_gateway && var.enable_api_basic_auth
  # Only the listed source IPs may call the gateway, when there is a list.
  with_source_ip_policy = var.enable_api_gateway && length(var.access_list_cidr_blocks) > 0

  # The execution role is the caller's; the module only adds the right to read the secrets
  # of this task to it, by name (the last segment of the ARN, after any path).
  execution_role_name = element(split("/", var.fargate_execution_role_arn), length(split("/", var.fargate_execution_role_arn)) - 1)
}
