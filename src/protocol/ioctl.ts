// VFIO ioctl numbers: _IO(';', 100 + n) = 0x3b00 | (100 + n). Every VFIO ioctl is _IO(),
// so no size or direction is encoded (spec/vfio-migration.md §1.1). Values hold where
// _IOC_NONE is 0 (x86, arm64, riscv, s390).

export const VFIO_TYPE = 0x3b;

export const VFIO_GET_API_VERSION = 0x3b64;
export const VFIO_CHECK_EXTENSION = 0x3b65;
export const VFIO_SET_IOMMU = 0x3b66;
export const VFIO_GROUP_GET_STATUS = 0x3b67;
export const VFIO_GROUP_SET_CONTAINER = 0x3b68;
export const VFIO_GROUP_GET_DEVICE_FD = 0x3b6a;
export const VFIO_DEVICE_GET_INFO = 0x3b6b;
export const VFIO_DEVICE_GET_REGION_INFO = 0x3b6c;
export const VFIO_DEVICE_GET_IRQ_INFO = 0x3b6d;
export const VFIO_DEVICE_SET_IRQS = 0x3b6e;
export const VFIO_DEVICE_RESET = 0x3b6f;
/** On a device fd: VFIO_DEVICE_FEATURE. On a container fd: VFIO_IOMMU_DIRTY_PAGES. */
export const VFIO_DEVICE_FEATURE = 0x3b75;
export const VFIO_DEVICE_BIND_IOMMUFD = 0x3b76;
/** On a migration data_fd: VFIO_MIG_GET_PRECOPY_INFO. */
export const VFIO_MIG_GET_PRECOPY_INFO = 0x3b79;

/** True for any ioctl number in VFIO's type (0x3bXX). */
export function isVfioIoctl(cmd: number): boolean {
  return (cmd & 0xff00) === VFIO_TYPE << 8 && cmd >>> 16 === 0;
}

const NAMES: ReadonlyMap<number, string> = new Map([
  [VFIO_GET_API_VERSION, 'VFIO_GET_API_VERSION'],
  [VFIO_CHECK_EXTENSION, 'VFIO_CHECK_EXTENSION'],
  [VFIO_SET_IOMMU, 'VFIO_SET_IOMMU'],
  [VFIO_GROUP_GET_STATUS, 'VFIO_GROUP_GET_STATUS'],
  [VFIO_GROUP_SET_CONTAINER, 'VFIO_GROUP_SET_CONTAINER'],
  [VFIO_GROUP_GET_DEVICE_FD, 'VFIO_GROUP_GET_DEVICE_FD'],
  [VFIO_DEVICE_GET_INFO, 'VFIO_DEVICE_GET_INFO'],
  [VFIO_DEVICE_GET_REGION_INFO, 'VFIO_DEVICE_GET_REGION_INFO'],
  [VFIO_DEVICE_GET_IRQ_INFO, 'VFIO_DEVICE_GET_IRQ_INFO'],
  [VFIO_DEVICE_SET_IRQS, 'VFIO_DEVICE_SET_IRQS'],
  [VFIO_DEVICE_RESET, 'VFIO_DEVICE_RESET'],
  [VFIO_DEVICE_FEATURE, 'VFIO_DEVICE_FEATURE'],
  [VFIO_DEVICE_BIND_IOMMUFD, 'VFIO_DEVICE_BIND_IOMMUFD'],
  [VFIO_MIG_GET_PRECOPY_INFO, 'VFIO_MIG_GET_PRECOPY_INFO'],
]);

export function ioctlName(cmd: number): string {
  return NAMES.get(cmd) ?? `0x${cmd.toString(16)}`;
}

/** Region info capability ids (struct vfio_info_cap_header.id), §1.3. */
export const REGION_CAP_SPARSE_MMAP = 1;
export const REGION_CAP_TYPE = 2;

/** VFIO_REGION_TYPE_MIGRATION(_DEPRECATED) / VFIO_REGION_SUBTYPE_MIGRATION(_DEPRECATED), §1.3. */
export const REGION_TYPE_MIGRATION = 3;
export const REGION_SUBTYPE_MIGRATION = 1;

/** errno values the rules talk about (Linux, all common ABIs). */
export const ERRNO = {
  EPERM: 1,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  EFAULT: 14,
  EBUSY: 16,
  EINVAL: 22,
  ENOTTY: 25,
  ENOMSG: 42,
} as const;

const ERRNO_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(ERRNO).map(([k, v]) => [v, k]));

export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
}
