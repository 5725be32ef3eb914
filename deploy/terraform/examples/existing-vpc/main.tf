# Example root module: the metadata service on Fargate in an existing VPC, next to an existing
# PostgreSQL (RDS) database and Metaflow datastore bucket.
#
#   terraform init && terraform apply -var-file=example.tfvars
#   aws lambda invoke --function-name "$(terraform output -raw migration_function_arn)" /dev/stdout

terraform {
  required_version = ">= 1.3"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 7.0"
    }
  }
}

provider "aws" {
  region = var.region
}

data "aws_vpc" "this" {
  id = var.vpc_id
}

module "metadata_service" {
  source = "../../metadata-service"

  resource_prefix = "metaflow-"
  resource_suffix = "-${terraform.workspace}"
  standard_tags   = { application = "metaflow", environment = terraform.workspace }

  metaflow_vpc_id         = var.vpc_id
  subnet1_id              = var.private_subnet_ids[0]
  subnet2_id              = var.private_subnet_ids[1]
  vpc_cidr_blocks         = [data.aws_vpc.this.cidr_block]
  access_list_cidr_blocks = var.vpn_cidr_blocks
  with_public_ip          = false

  rds_master_instance_endpoint = var.database_endpoint
  database_username            = var.database_username
  database_password            = var.database_password
  database_ssl_mode            = "require"

  s3_bucket_arn                   = var.datastore_bucket_arn
  datastore_s3_bucket_kms_key_arn = var.datastore_kms_key_arn
  fargate_execution_role_arn      = var.execution_role_arn

  metadata_service_container_image = var.container_image
  metadata_service_desired_count   = 2
  log_retention_in_days            = 90
}
