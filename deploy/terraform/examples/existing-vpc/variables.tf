variable "region" {
  type        = string
  description = "AWS region"
}

variable "vpc_id" {
  type        = string
  description = "The existing VPC"
}

variable "private_subnet_ids" {
  type        = list(string)
  description = "Two private subnets of the VPC, in different availability zones"
}

variable "vpn_cidr_blocks" {
  type        = list(string)
  description = "Source CIDRs allowed through API Gateway (your VPN)"
}

variable "database_endpoint" {
  type        = string
  description = "PostgreSQL endpoint, address:port"
}

variable "database_username" {
  type        = string
  description = "PostgreSQL user"
}

variable "database_password" {
  type        = string
  sensitive   = true
  description = "PostgreSQL password"
}

variable "datastore_bucket_arn" {
  type        = string
  description = "ARN of the Metaflow datastore bucket"
}

variable "datastore_kms_key_arn" {
  type        = string
  description = "ARN of the datastore bucket's KMS key"
}

variable "execution_role_arn" {
  type        = string
  description = "ECS task execution role"
}

variable "container_image" {
  type        = string
  default     = ""
  description = "Image built from deploy/container/Dockerfile and pushed to a registry the tasks can pull from (empty: the module's default)"
}
