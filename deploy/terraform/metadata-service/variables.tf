# Inputs of the original Metaflow Terraform module: names, types, defaults and
# required-ness are fixed. Inputs added by this module come last, all with defaults.

variable "access_list_cidr_blocks" {
  type        = list(string)
  description = "CIDRs granted access to the Metadata Service (usually the VPN's CIDR blocks); when non-empty, the API Gateway resource policy denies every other source IP"
}

variable "database_name" {
  type        = string
  default     = "metaflow"
  description = "The database name"
}

variable "database_password" {
  type        = string
  sensitive   = true
  description = "The database password (stored in Secrets Manager and handed to the task as a secret, never in the task definition)"
}

variable "database_username" {
  type        = string
  description = "The database username"
}

variable "database_ssl_mode" {
  type        = string
  default     = "disable"
  description = "libpq sslmode for the database connection (disable, allow, prefer, require, verify-ca, verify-full); PostgreSQL 15+ on RDS needs require"

  validation {
    condition     = contains(["disable", "allow", "prefer", "require", "verify-ca", "verify-full"], var.database_ssl_mode)
    error_message = "database_ssl_mode must be one of disable, allow, prefer, require, verify-ca, verify-full."
  }
}

variable "datastore_s3_bucket_kms_key_arn" {
  type        = string
  description = "ARN of the KMS key used to encrypt the Metaflow datastore S3 bucket"
}

variable "db_migrate_lambda_zip_file" {
  type        = string
  default     = null
  description = "Output path for the zip file containing the DB migrate lambda (default: db_migrate_lambda.zip in the root module's directory)"
}

variable "enable_api_basic_auth" {
  type        = bool
  default     = true
  description = "Enable basic auth (API key) for API Gateway? (requires key export)"
}

variable "enable_api_gateway" {
  type        = bool
  default     = true
  description = "Enable API Gateway for a public metadata service endpoint"
}

variable "fargate_execution_role_arn" {
  type        = string
  description = "IAM role that grants access to ECS and Batch, used as the Fargate task's execution_role; the module lets it read the task's secrets"
}

variable "iam_partition" {
  type        = string
  default     = "aws"
  description = "IAM partition (aws-us-gov for AWS GovCloud, otherwise leave as is)"
}

variable "is_gov" {
  type        = bool
  default     = false
  description = "Set to true if the IAM partition is 'aws-us-gov' (the API Gateway is then REGIONAL: GovCloud has no edge-optimized endpoints)"
}

variable "metadata_service_container_image" {
  type        = string
  default     = ""
  description = "Container image for the metadata service (empty: the image this module version was released with, see locals.tf)"
}

variable "metadata_service_cpu" {
  type        = number
  default     = 512
  description = "ECS task CPU units for the metadata service"
}

variable "metadata_service_memory" {
  type        = number
  default     = 1024
  description = "ECS task memory in MiB for the metadata service"
}

variable "metaflow_vpc_id" {
  type        = string
  description = "ID of the Metaflow VPC the service is deployed in"
}

variable "rds_master_instance_endpoint" {
  type        = string
  description = "The database connection endpoint in address:port format"
}

variable "resource_prefix" {
  type        = string
  description = "Prefix given to all AWS resources to tell applications apart"
}

variable "resource_suffix" {
  type        = string
  description = "Suffix given to all AWS resources to tell environments and workspaces apart"
}

variable "s3_bucket_arn" {
  type        = string
  description = "ARN of the bucket used as blob storage"
}

variable "standard_tags" {
  type        = map(string)
  description = "Standard tags applied to every AWS resource"
}

variable "subnet1_id" {
  type        = string
  description = "First private subnet, for availability-zone redundancy"
}

variable "subnet2_id" {
  type        = string
  description = "Second private subnet, for availability-zone redundancy"
}

variable "vpc_cidr_blocks" {
  type        = list(string)
  description = "VPC CIDR blocks allowed to reach the service for internal communication"
}

variable "with_public_ip" {
  type        = bool
  description = "Assign a public IP to the service (true with public subnets, false otherwise)"
}

# Added by this module (optional, so callers of the original keep working).

variable "metadata_service_api_keys_secret_arn" {
  type        = string
  default     = null
  description = "ARN of a Secrets Manager secret holding the service's built-in API keys, handed to the container as MF_METADATA_API_KEYS (comma-separated NAME:KEY or NAME:sha256:HEX entries, each optionally followed by read-only; clients send the key as header x-api-key). null: no built-in keys"
}

variable "log_retention_in_days" {
  type        = number
  default     = 30
  description = "Days the CloudWatch log groups of the service and the migration function keep their events"
}

variable "metadata_service_desired_count" {
  type        = number
  default     = 1
  description = "Number of metadata service tasks (replicas) the ECS service keeps running"
}
